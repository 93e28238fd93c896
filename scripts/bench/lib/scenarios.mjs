// The issue #7 scenarios. Each starts its own `causeway serve` process (lib/server.mjs); the load
// runs in this process.
import { spawnSync } from "node:child_process";
import { constants, copyFileSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StdioClient, WsClient, pipeline, sequential } from "./clients.mjs";
import { CLI, nodeArgs, startServer } from "./server.mjs";
import { cachedJournal, commandName, sessionName } from "./journal.mjs";
import { rawScan } from "./baselines.mjs";
import { BIG_LIMITS, createSessions, openLoopSets, pipelinedSets, setFrame } from "./load.mjs";
import { median, procMem, sleep } from "./stats.mjs";
import { startRedis } from "../../redis-server.mjs";


export function tempDir() {
  return mkdtempSync(join(tmpdir(), "causeway-bench-"));
}

/**
 * The journal store of one run: "sqlite" (the default) or "redis": a fresh redis-server for the run
 * (appendonly yes, appendfsync always: as durable as SQLite's FULL), used by `serve --store`.
 */
async function withStore(store, fn) {
  if (store !== "redis") return fn([], null);
  const redis = await startRedis();
  try {
    return await fn(["--store", redis.url()], redis);
  } finally {
    await redis.stop();
  }
}

/** Scenario 1: durable `set` throughput over one WebSocket, 64 sessions, `window` in flight. */
export function s1Throughput({ store = "sqlite", ...opts }) {
  return withStore(store, (args, redis) => s1Run({ ...opts, store, args, redisPid: redis?.pid() ?? null }));
}

async function s1Run({ durability, commands, window, warmup, lifecycle = "all", store, args, redisPid }) {
  const dir = tempDir();
  const srv = await startServer({ db: join(dir, "s1.db"), durability, args, label: `s1 ${store} ${durability} lifecycle ${lifecycle}` });
  try {
    const c = await WsClient.connect(srv.url);
    // "none": responses only (the connection opts out of lifecycle events, #17)
    if (lifecycle !== "all") {
      const f = await c.request({ type: "subscribe", lifecycle });
      if (!f.success) throw new Error(`s1: subscribe {lifecycle: ${lifecycle}} failed: ${JSON.stringify(f)}`);
    }
    const r = await pipelinedSets(c, { commands, window, warmup, label: "s1", pid: srv.pid, storePid: redisPid });
    await c.close();
    return { store, durability, lifecycle, ...r, serverRssMb: srv.mem().hwmMb };
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Scenario 2: open-loop latency at fixed offered rates (durability full), one server for all rates. */
export function s2Latency({ store = "sqlite", ...opts }) {
  return withStore(store, (args) => s2Run({ ...opts, args: [...BIG_LIMITS, ...args], store }));
}

async function s2Run({ rates, durationMs, warmup, args, store }) {
  const dir = tempDir();
  const srv = await startServer({ db: join(dir, "s2.db"), durability: "full", args, label: `s2 ${store}` });
  try {
    const c = await WsClient.connect(srv.url);
    const out = await openLoopSets(c, { rates, durationMs, warmup });
    await c.close();
    return out;
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Scenario 3: the same pipelined `set` load over a stdio pipe to a child process. */
export async function s3Stdio({ commands, window, warmup }) {
  const dir = tempDir();
  const srv = await startServer({ db: join(dir, "s3.db"), durability: "full", stdio: true, label: "s3" });
  try {
    const c = new StdioClient(srv.child);
    await createSessions(c, "b");
    await pipeline(c, { total: warmup, window, frame: setFrame("b") });
    const r = await pipeline(c, { total: commands, window, frame: setFrame("b") });
    if (r.failed) throw new Error(`s3: ${r.failed} commands failed: ${c.failures.join(" | ")}`);
    srv.child.stdin.end(); // EOF: the server drains and exits 0
    return { commands, window, commandsPerSec: r.perSec, latencyMs: r.latencyMs };
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Scenario 4: `clients` WebSocket connections, each writing `set` to its own session, `perClient` in flight. */
export async function s4ManyConnections({ clients, perClient, durationMs, lifecycle }) {
  const dir = tempDir();
  const srv = await startServer({ db: join(dir, "s4.db"), durability: "full", label: "s4" });
  try {
    const t0 = performance.now();
    const conns = [];
    for (let i = 0; i < clients; i += 50) {
      conns.push(...(await Promise.all(Array.from({ length: Math.min(50, clients - i) }, () => WsClient.connect(srv.url)))));
    }
    const connectMs = performance.now() - t0;
    // lifecycle: each client narrows the lifecycle events it receives (subscribe {lifecycle}) first
    if (lifecycle) await Promise.all(conns.map((c) => pipeline(c, { total: 1, window: 1, frame: (_j, id) => `{"type":"subscribe","id":"${id}","lifecycle":"${lifecycle}"}` })));
    await Promise.all(conns.map((c, i) => pipeline(c, { total: 1, window: 1, frame: (_j, id) => `{"type":"create_session","id":"${id}","sessionId":"m${i}"}` })));
    const setupMs = performance.now() - t0;
    const lat = [];
    let total = 0;
    let failed = 0;
    let stop = false;
    const tStart = performance.now();
    const runs = conns.map((c, ci) => {
      let i = 0;
      return new Promise((resolve) => {
        const sentAt = new Map();
        let inflight = 0;
        const send = () => {
          const id = `m${ci}_${i}`;
          sentAt.set(id, performance.now());
          inflight++;
          c.send(`{"type":"set","id":"${id}","idempotencyKey":"k-${id}","sessionId":"m${ci}","path":"/k","value":${i++}}`);
        };
        c.onResponse = (id, ok) => {
          const t = sentAt.get(id);
          if (t === undefined) return;
          sentAt.delete(id);
          inflight--;
          lat.push(performance.now() - t);
          total++;
          if (!ok) failed++;
          if (!stop) send();
          else if (inflight === 0) resolve();
        };
        for (let k = 0; k < perClient; k++) send();
      });
    });
    await sleep(durationMs);
    stop = true;
    const measuredSecs = (performance.now() - tStart) / 1000;
    const counted = total;
    const measured = lat.slice(0, counted);
    await Promise.all(runs);
    const rss = srv.mem();
    await Promise.all(conns.map((c) => c.close()));
    const { quantiles } = await import("./stats.mjs");
    return { clients, perClient, lifecycle: lifecycle ?? "all", commandsPerSec: counted / measuredSecs, failed, connectMs, setupMs, latencyMs: quantiles(measured), serverRssMb: rss.rssMb, serverPeakRssMb: rss.hwmMb };
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Scenario 5 (+6 on the same server): restart on a journal of `n` commands. Each measured start
 * follows a kill -9 of the previous server (stale lease taken over), so it is a crash restart.
 * Baseline: the same start on an empty journal. Returns spawn → listening, and spawn → first
 * `server_ready` frame on a fresh connection.
 */
export async function s5Restart({ n, runs, log }) {
  const { db, meta } = cachedJournal(n, { log });
  const empty = tempDir();
  try {
    const start = async (path) => {
      const t0 = performance.now();
      const srv = await startServer({ db: path, durability: "full", label: "s5" });
      const c = await WsClient.connect(srv.url);
      const readyFrameMs = performance.now() - t0;
      await c.close();
      return { srv, readyMs: srv.readyMs, readyFrameMs };
    };
    const measure = async (path) => {
      const xs = [];
      for (let r = 0; r <= runs; r++) {
        const s = await start(path);
        await s.srv.kill();
        if (r > 0) xs.push(s); // the first start warms the page cache
      }
      return { readyMs: median(xs.map((x) => x.readyMs)), readyFrameMs: median(xs.map((x) => x.readyFrameMs)), samplesMs: xs.map((x) => x.readyMs) };
    };
    const base = await measure(join(empty, "empty.db"));
    const full = await measure(db);
    return { commands: n, journalRows: meta.rows, dbMb: statSync(db).size / 1e6, emptyJournal: base, ...full, ratioToEmpty: full.readyMs / base.readyMs };
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
}

/** Scenario 6: history queries over one WebSocket (one in flight) on the cached journal of `n` commands. */
export async function s6History({ n, iterations, log }) {
  const { db, meta } = cachedJournal(n, { log });
  const srv = await startServer({ db, durability: "full", label: "s6" });
  let seed = 0x5eed;
  const rand = (k) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % k;
  };
  try {
    const c = await WsClient.connect(srv.url);
    const queries = {
      bySessionNewest: (_i, id) => `{"type":"get_command_history","id":"${id}","sessionIdFilter":"${sessionName(rand(meta.sessions))}","limit":100}`,
      byCommandId: (_i, id) => `{"type":"get_command","id":"${id}","commandId":"${commandName(meta.sessions + rand(n - meta.sessions))}"}`,
      byTimeWindow1s: (_i, id) => {
        const from = meta.t0 + rand(Math.max(1, meta.t1 - meta.t0 - 1000));
        return `{"type":"get_command_history","id":"${id}","fromTimestamp":${from},"toTimestamp":${from + 999},"limit":100}`;
      },
    };
    const out = {};
    for (const [name, frame] of Object.entries(queries)) {
      await sequential(c, { n: 50, frame }); // warm-up
      const r = await sequential(c, { n: iterations, frame });
      if (r.failed) throw new Error(`s6 ${name}: ${r.failed} failed: ${c.failures.join(" | ")}`);
      out[name] = r.latencyMs;
    }
    await c.close();
    return { commands: n, iterations, queries: out, serverRssMb: srv.mem().hwmMb };
  } finally {
    await srv.stop();
  }
}

/**
 * Scenario 7: peak RSS. (a) A fresh server while `commands` `set` commands go through it (one
 * WebSocket, durability full, 64 sessions, `window` in flight), RSS sampled at every tenth; growth
 * is the change from the 20% sample to the end. (b) The same load on a server restarted on the
 * cached journal of `historyN` commands: RSS must not depend on the history behind it. Baseline:
 * the RSS of the idle server just started on an empty journal.
 */
export async function s7Rss({ commands, window, historyN, log }) {
  const load = async (db, label, sessionsExist) => {
    const srv = await startServer({ db, durability: "full", label });
    try {
      const idle = srv.mem();
      const c = await WsClient.connect(srv.url);
      const prefix = sessionsExist ? "s" : "b";
      if (!sessionsExist) await createSessions(c, prefix);
      const samples = [];
      const step = Math.ceil(commands / 10);
      const t0 = performance.now();
      for (let done = 0; done < commands; done += step) {
        const r = await pipeline(c, { total: Math.min(step, commands - done), window, frame: setFrame(prefix) });
        if (r.failed) throw new Error(`${label}: ${r.failed} failed: ${c.failures.join(" | ")}`);
        const m = srv.mem();
        samples.push({ commands: done + r.total, rssMb: m.rssMb, peakMb: m.hwmMb, perSec: r.perSec });
      }
      const secs = (performance.now() - t0) / 1000;
      await c.close();
      const last = samples[samples.length - 1];
      const at20 = samples[1] ?? samples[0];
      log(`  ${label}: idle ${idle.rssMb.toFixed(0)} MB, after ${commands.toLocaleString("en-US")} commands RSS ${last.rssMb.toFixed(0)} MB, peak ${last.peakMb.toFixed(0)} MB, ${Math.round(commands / secs)}/s`);
      return { idleRssMb: idle.rssMb, peakRssMb: last.peakMb, finalRssMb: last.rssMb, growthFrom20PctMb: last.rssMb - at20.rssMb, commandsPerSec: commands / secs, samples };
    } finally {
      await srv.stop();
    }
  };
  const dir = tempDir();
  try {
    const fresh = await load(join(dir, "s7.db"), "s7 empty history", false);
    // on a copy of the cached journal (the load adds commands to it; sessions s0…s63 exist)
    const { db: cached } = cachedJournal(historyN, { log });
    const db = join(dir, "s7-history.db");
    copyFileSync(cached, db, constants.COPYFILE_FICLONE);
    const history = await load(db, `s7 ${historyN.toLocaleString("en-US")}-command history`, true);
    return { commands, historyCommands: historyN, fresh, history, peakRssMb: Math.max(fresh.peakRssMb, history.peakRssMb), idleRssMb: fresh.idleRssMb, historyMinusFreshMb: history.peakRssMb - fresh.peakRssMb, ratioToIdle: Math.max(fresh.peakRssMb, history.peakRssMb) / fresh.idleRssMb };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Scenario 8: `causeway audit --json` (the built CLI) over the cached journal; baseline: a raw scan of its rows. */
export function s8Audit({ n, log }) {
  const { db, meta } = cachedJournal(n, { log });
  const scan = rawScan(db);
  const useTime = spawnSync("/usr/bin/time", ["-f", "%M", "true"]).status === 0;
  const argv = [...nodeArgs(), CLI, "audit", "--db", db, "--json"];
  const t0 = performance.now();
  const out = useTime
    ? spawnSync("/usr/bin/time", ["-f", "%M", process.execPath, ...argv], { encoding: "utf8", maxBuffer: 512 * 1024 * 1024 })
    : spawnSync(process.execPath, argv, { encoding: "utf8", maxBuffer: 512 * 1024 * 1024 });
  const secs = (performance.now() - t0) / 1000;
  if (out.status !== 0) throw new Error(`audit exited ${out.status}: ${out.stderr.slice(-2000)}`);
  const report = JSON.parse(out.stdout);
  const peakRssMb = useTime ? Number(out.stderr.trim().split("\n").pop()) / 1024 : null;
  return { commands: n, rows: report.checkedRows, secs, ok: report.ok, reexecuted: report.reexecution.reexecuted, matched: report.reexecution.matched, peakRssMb, rawScanSecs: scan.secs, ratioToRawScan: secs / scan.secs, journalRows: meta.rows };
}
