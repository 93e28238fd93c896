// Scenario 10 (#18): two causeway nodes on ONE Redis journal (`--node a`, `--node b`), each with a
// client of its own and 64 sessions of its own, s1's load on both at once; beside it, in the same run,
// ONE node on a fresh Redis with the same two clients (the baseline of the ratio). Then the takeover:
// node a is killed -9 under load, and the time until node b has finished every command a left
// unfinished is measured (lease `leaseMs`; b's sweep runs every quarter of it).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { WsClient, pipeline } from "./clients.mjs";
import { BIG_LIMITS, createSessions, setFrame } from "./load.mjs";
import { startServer } from "./server.mjs";
import { sleep } from "./stats.mjs";
import { startRedis } from "../../redis-server.mjs";

const JOURNAL = "cw:{causeway}:journal";

/** Both clients' pipelines at once: commands per second over the wall clock of the pair. */
async function together(clients, { commands, window, warmup }) {
  const prefixes = ["a", "b"];
  await Promise.all(clients.map((c, i) => createSessions(c, prefixes[i])));
  await Promise.all(clients.map((c, i) => pipeline(c, { total: warmup, window, frame: setFrame(prefixes[i]) })));
  const t0 = performance.now();
  const rs = await Promise.all(clients.map((c, i) => pipeline(c, { total: commands, window, frame: setFrame(prefixes[i]) })));
  const secs = (performance.now() - t0) / 1000;
  const failed = rs.reduce((n, r) => n + r.failed, 0);
  if (failed) throw new Error(`s10: ${failed} commands failed: ${clients.flatMap((c) => c.failures).join(" | ")}`);
  return { commandsPerSec: (commands * clients.length) / secs, p99Ms: Math.max(...rs.map((r) => r.latencyMs.p99)) };
}

async function nodes(redis, names, leaseMs) {
  const dir = mkdtempSync(join(tmpdir(), "causeway-bench-nodes-"));
  const servers = [];
  try {
    for (const name of names) {
      const shared = name === null ? [] : ["--node", name, "--redis-lease-ttl-ms", String(leaseMs)];
      servers.push(await startServer({ db: join(dir, `${name ?? "one"}.db`), args: [...BIG_LIMITS, "--store", redis.url(), ...shared], label: `s10 node ${name ?? "(one)"}` }));
    }
  } catch (err) {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { servers, cleanup: async () => (await Promise.all(servers.map((s) => s.stop())), rmSync(dir, { recursive: true, force: true })) };
}

/** Accepted commands of the Redis journal without a finished row. */
async function unfinished(client) {
  const open = new Set();
  for (const [, fields] of await client.xrange(JOURNAL, "-", "+")) {
    const r = JSON.parse(fields[fields.indexOf("r") + 1]);
    if (r.phase === "accepted") open.add(r.commandId);
    else if (r.phase === "finished") open.delete(r.commandId);
  }
  return open.size;
}

/** s10: one node vs two nodes on one Redis, same run; then node a killed -9 under load. */
export async function s10TwoNodes({ commands, window, warmup, leaseMs }) {
  const out = {};
  for (const [label, names] of [["oneNode", [null]], ["twoNodes", ["a", "b"]]]) {
    const redis = await startRedis();
    const { servers, cleanup } = await nodes(redis, names, leaseMs);
    try {
      const clients = await Promise.all([0, 1].map((i) => WsClient.connect(servers[i % servers.length].url)));
      out[label] = await together(clients, { commands, window, warmup });
      if (label === "twoNodes") out.takeover = await takeover(redis, servers, clients, { window, leaseMs });
      await Promise.all(clients.map((c) => c.close().catch(() => {})));
    } finally {
      await cleanup();
      await redis.stop();
    }
  }
  out.ratioTwoToOne = out.twoNodes.commandsPerSec / out.oneNode.commandsPerSec;
  return out;
}

/**
 * Kill node a in the middle of a pipeline. Measured from the kill: when node b first serves a command
 * of one of a's sessions (before that it answers not_owner: a's lease is still live), and when b has
 * finished every command a left unfinished (s1's `set`s settle within their batch, so usually none).
 */
async function takeover(redis, servers, clients, { window, leaseMs }) {
  const load = pipeline(clients[0], { total: 1_000_000, window, frame: setFrame("a") }).catch(() => {});
  await sleep(300);
  await servers[0].kill();
  const t0 = performance.now();
  const client = new Redis(redis.url());
  try {
    const left = await unfinished(client);
    let servedMs = null;
    for (let i = 0; servedMs === null; i++) {
      const f = await clients[1].request({ type: "get_state", id: `takeover-${i}`, sessionId: "a0" });
      if (f.success) servedMs = performance.now() - t0;
      else if (f.code !== "not_owner") throw new Error(`s10 takeover: ${JSON.stringify(f)}`);
      else await sleep(10);
    }
    while ((await unfinished(client)) > 0) await sleep(20);
    await load;
    return { leaseMs, unfinishedAtKill: left, servedMs, resolvedMs: performance.now() - t0 };
  } finally {
    client.disconnect();
  }
}
