// Baselines measured in the same run as the scenarios: what this machine can do without causeway.
// The ceiling baseline is the limit of the protocol itself: the same load against a bare server that
// only parses frames, group-commits journal rows and answers (ceiling-server.mjs).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { StdioClient, WsClient, openLoop, pipeline, sequential } from "./clients.mjs";
import { openLoopSets, pipelinedSets } from "./load.mjs";
import { nodeArgs } from "./server.mjs";

const ECHO = fileURLToPath(new URL("../echo-server.mjs", import.meta.url));
const CEILING = fileURLToPath(new URL("../ceiling-server.mjs", import.meta.url));
// the same shape and size as the scenario's `set` command
export const sampleFrame = (i, id) => `{"type":"set","id":"${id}","idempotencyKey":"k-${id}","sessionId":"b${i % 64}","path":"/k","value":${i}}`;

/** A bare ws server script (echo-server.mjs, ceiling-server.mjs) in its own process; it prints its port. */
async function startBare(script, args = []) {
  const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once("data", (d) => resolve(Number(String(d).trim())));
    child.once("exit", (c) => reject(new Error(`${script} exited ${c}`)));
  });
  return {
    url: `ws://127.0.0.1:${port}/`,
    stop: () => new Promise((r) => (child.exitCode !== null ? r() : (child.once("exit", r), child.kill("SIGTERM")))),
  };
}

/** A bare ws echo server in its own process. */
export const startEcho = () => startBare(ECHO);

/**
 * The ceiling of this protocol on this machine: ceiling-server.mjs (wire protocol + WAL FULL group
 * commit, nothing of causeway's) on a fresh database, `rowsPerCommand` 1 or 3, lifecycle events or
 * responses only. `f(client)` runs the load over one WebSocket.
 */
async function withCeiling({ rowsPerCommand, events }, f) {
  const dir = mkdtempSync(join(tmpdir(), "causeway-bench-ceiling-"));
  const srv = await startBare(CEILING, ["--db", join(dir, "ceiling.db"), "--rows-per-command", String(rowsPerCommand), ...(events ? [] : ["--responses-only"])]);
  try {
    const c = await WsClient.connect(srv.url);
    const r = await f(c);
    await c.close();
    return r;
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** s1's load (lib/load.mjs: 1 ws, 64 sessions, `window` in flight) against the ceiling server. */
export const ceilingThroughput = ({ rowsPerCommand, events, commands, window, warmup }) =>
  withCeiling({ rowsPerCommand, events }, async (c) => ({ rowsPerCommand, events, ...(await pipelinedSets(c, { commands, window, warmup, label: "ceiling" })) }));

/** s2's open loop (lib/load.mjs) against the ceiling server: latency at each offered rate. */
export const ceilingOpenLoop = ({ rowsPerCommand, events, rates, durationMs, warmup }) => withCeiling({ rowsPerCommand, events }, (c) => openLoopSets(c, { rates, durationMs, warmup }));

/** ws echo over one loopback connection: pipelined msgs/s, sequential RTT, open-loop latency. */
export async function wsEcho({ messages, window, rttSamples, openLoopRates, openLoopMs }) {
  const echo = await startEcho();
  try {
    const c = await WsClient.connect(echo.url, { echo: true });
    await pipeline(c, { total: Math.min(5_000, messages), window, frame: sampleFrame }); // warm-up
    const thr = await pipeline(c, { total: messages, window, frame: sampleFrame });
    const rtt = await sequential(c, { n: rttSamples, frame: sampleFrame });
    const open = {};
    for (const rate of openLoopRates) open[rate] = await openLoop(c, { rate, durationMs: openLoopMs, frame: sampleFrame });
    await c.close();
    return { msgsPerSec: thr.perSec, window, messages, rttMs: rtt.latencyMs, openLoop: open };
  } finally {
    await echo.stop();
  }
}

/** The same over a pipe: a child process that copies stdin to stdout (baseline for stdio). */
export async function pipeEcho({ messages, window }) {
  const child = spawn(process.execPath, [...nodeArgs().filter((a) => !a.startsWith("--cpu-prof")), "-e", "process.stdin.pipe(process.stdout)"], { stdio: ["pipe", "pipe", "inherit"] });
  const c = new StdioClient(child);
  c.echo = true;
  await pipeline(c, { total: Math.min(5_000, messages), window, frame: sampleFrame });
  const thr = await pipeline(c, { total: messages, window, frame: sampleFrame });
  child.stdin.end();
  await new Promise((r) => child.once("exit", r));
  return { msgsPerSec: thr.perSec, window, messages };
}

/** better-sqlite3 inserts, WAL, synchronous=FULL, `batch` rows per transaction (rows/s); stops early after maxMs. */
export function rawSqlite({ batch, rows, maxMs = Infinity }) {
  const dir = mkdtempSync(join(tmpdir(), "causeway-bench-raw-"));
  try {
    const db = new Database(join(dir, "raw.db"));
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.exec("CREATE TABLE t (seq INTEGER PRIMARY KEY, lane TEXT, body TEXT)");
    const ins = db.prepare("INSERT INTO t (seq, lane, body) VALUES (?, ?, ?)");
    const body = JSON.stringify({ type: "set", path: "/k", value: 1, pad: "x".repeat(120) });
    const tx = db.transaction((from, n) => {
      for (let i = 0; i < n; i++) ins.run(from + i, "session:s", body);
    });
    tx(0, 1); // warm-up: schema, first page
    const t0 = performance.now();
    let written = 0;
    for (let i = 1; i <= rows && performance.now() - t0 < maxMs; i += batch) {
      const n = Math.min(batch, rows - i + 1);
      tx(i, n);
      written += n;
    }
    const secs = (performance.now() - t0) / 1000;
    db.close();
    return { batch, rows: written, rowsPerSec: written / secs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Read every journal row of a database with better-sqlite3, raw mode (baseline for the audit: the floor of any full scan). */
export function rawScan(path) {
  const db = new Database(path, { readonly: true });
  try {
    const t0 = performance.now();
    let rows = 0;
    for (const _ of db.prepare("SELECT * FROM journal ORDER BY seq").raw(true).iterate()) rows++;
    return { rows, secs: (performance.now() - t0) / 1000 };
  } finally {
    db.close();
  }
}
