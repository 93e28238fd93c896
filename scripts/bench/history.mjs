#!/usr/bin/env node
// History query benchmark (issue #4): `npm run build && node scripts/bench/history.mjs`.
//
//   HISTORY_COMMANDS=1000000 HISTORY_ITERATIONS=2000 node scripts/bench/history.mjs
//
// 1. Builds a journal of HISTORY_COMMANDS commands (default 1,000,000) by committing records
//    straight through SqliteStore.commit (durability "off", 10,000 commands = 30,000 journal rows
//    per transaction): accepted + started + finished per command, 1,000 sessions plus a server
//    lane, 5 command types, 3 actors, ~10% failures, 2% with dependsOn, one command per ms.
//    Command ids are sequential (`cmd-0000042`), so the primary-key index appends; random ids
//    would build slower (and so would the engine path: this measures the queries, not admission).
// 2. Reopens the file (a fresh connection, like a restarted server) and measures, through the real
//    immediate-command handlers (get_command_history / get_command) including JSON serialization
//    of the response, p50 / p99 / max latency of:
//      - history of a random session, newest first, limit 100 (first page);
//      - the same, following nextCursor 10 pages deep (per-page latency);
//      - get_command for a random command id (with trace, dependencies, dependents);
//      - history in a random 1-second window of accepted time, newest first, limit 100;
//      - history in a random 10-minute window, finished status "failed", limit 100;
//      - history without filters, newest first, limit 100.
// 3. Prints a table and writes bench/results/history-<date>.json.
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HISTORY_COMMANDS } from "../../dist/operator/history.js";
import { DEFAULT_CONFIG } from "../../dist/config/defaults.js";
import { SqliteStore } from "../../dist/journal/sqlite-store.js";
import { responseFrame, serialize } from "../../dist/protocol/frames.js";

const N = Number(process.env.HISTORY_COMMANDS ?? 1_000_000);
const ITER = Number(process.env.HISTORY_ITERATIONS ?? 2_000);
const BATCH = 10_000;
const SESSIONS = 1_000;
const TYPES = ["set", "patch", "get_state", "increment"];
const ACTORS = ["local", "alice", "bob"];
const T0 = Date.UTC(2026, 0, 1);

const id = (i) => `cmd-${String(i).padStart(7, "0")}`;

// deterministic PRNG (mulberry32) so runs are comparable
let seed = 0x5eed;
const rand = () => {
  seed |= 0;
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const randInt = (n) => Math.floor(rand() * n);

function build(path) {
  const store = new SqliteStore({ path, durability: "off" });
  store.open();
  // building only: a page cache large enough for the scattered index pages (the store's own
  // default is 16 MiB); queries are measured on a fresh connection with the default settings
  if (process.env.HISTORY_BUILD_CACHE_MB !== "0") store.database().pragma(`cache_size = -${1024 * Number(process.env.HISTORY_BUILD_CACHE_MB ?? 1024)}`);
  const laneSeqs = new Map();
  let seq = 0;
  const next = (lane) => {
    const l = (laneSeqs.get(lane) ?? 0) + 1;
    laneSeqs.set(lane, l);
    return { seq: ++seq, laneSeq: l };
  };
  const t0 = process.hrtime.bigint();
  for (let from = 0; from < N; from += BATCH) {
    const records = [];
    for (let i = from; i < Math.min(N, from + BATCH); i++) {
      const server = i % 20 === 19;
      const sessionId = server ? null : `s${randInt(SESSIONS)}`;
      const lane = server ? "server" : `session:${sessionId}`;
      const type = server ? "create_session" : TYPES[i % TYPES.length];
      const actor = ACTORS[randInt(ACTORS.length)];
      const at = T0 + i;
      const commandId = id(i);
      const common = { lane, commandId, sessionId, type, actor, fingerprint: `v1:sha256:${i.toString(16)}` };
      const failed = rand() < 0.1;
      records.push({
        ...common,
        ...next(lane),
        phase: "accepted",
        recordedAt: at,
        explicitId: true,
        params: server ? { sessionId: `new-${i}` } : { path: "/k", value: i },
        dependsOn: i > 0 && i % 50 === 0 ? [id(i - 1 - randInt(Math.min(i, 1000)))] : null,
        timeoutMs: 30_000,
      });
      records.push({ ...common, ...next(lane), phase: "started", recordedAt: at });
      records.push({
        ...common,
        ...next(lane),
        phase: "finished",
        recordedAt: at + 1,
        status: failed ? "failed" : "succeeded",
        outcome: failed
          ? { command: type, success: false, error: "handler threw: boom", code: "handler_error" }
          : { command: type, success: true, data: { path: "/k" }, ...(server ? {} : { sessionVersion: i }) },
      });
    }
    store.commit(records);
    if (process.stdout.isTTY) process.stdout.write(`\rbuilding: ${Math.min(N, from + BATCH).toLocaleString("en-US")} commands`);
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (process.stdout.isTTY) process.stdout.write("\n");
  store.close();
  return secs;
}

function quantiles(samples) {
  const xs = [...samples].sort((a, b) => a - b);
  const q = (p) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
  return { n: xs.length, p50: q(0.5), p99: q(0.99), max: xs[xs.length - 1] };
}

const handlers = new Map(HISTORY_COMMANDS.map((c) => [c.type, c]));
const conn = { id: "bench", transport: "stdio", actor: "bench", roles: [], closed: false, send: () => true, bufferedBytes: () => 0, close() {} };

/** Run an immediate command as the dispatcher would (handler + response serialization); returns [ms, outcome]. */
function timed(services, env) {
  const t = process.hrtime.bigint();
  const outcome = handlers.get(env.type).handle(conn, env, services);
  serialize(responseFrame(env.id, outcome));
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (!outcome.success) throw new Error(`${env.type} failed: ${outcome.error}`);
  return [ms, outcome];
}

function measure(path) {
  const store = new SqliteStore({ path, durability: "full" });
  store.open();
  const services = { store, config: DEFAULT_CONFIG };
  const results = {};
  const run = (name, makeEnv, check) => {
    // warm-up (statement preparation, first page faults), not measured
    for (let i = 0; i < 20; i++) timed(services, makeEnv());
    const samples = [];
    let rows = 0;
    for (let i = 0; i < ITER; i++) {
      const [ms, outcome] = timed(services, makeEnv());
      samples.push(ms);
      rows += check(outcome.data);
    }
    results[name] = { ...quantiles(samples), avgRows: rows / ITER };
  };
  const count = (d) => d.items.length;

  run("history by session, newest first, limit 100 (first page)", () => ({ type: "get_command_history", id: "b", sessionIdFilter: `s${randInt(SESSIONS)}`, limit: 100 }), count);

  {
    // 10 pages deep through one session's history, per-page latency
    const samples = [];
    let rows = 0;
    for (let i = 0; i < Math.ceil(ITER / 10); i++) {
      let cursor;
      const sessionIdFilter = `s${randInt(SESSIONS)}`;
      for (let p = 0; p < 10; p++) {
        const [ms, outcome] = timed(services, { type: "get_command_history", id: "b", sessionIdFilter, limit: 100, ...(cursor ? { cursor } : {}) });
        samples.push(ms);
        rows += outcome.data.items.length;
        cursor = outcome.data.nextCursor;
        if (!cursor) break;
      }
    }
    results["history by session, newest first, limit 100 (pages 1-10 via cursor)"] = { ...quantiles(samples), avgRows: rows / samples.length };
  }

  run("get_command by id (trace, dependencies, dependents)", () => ({ type: "get_command", id: "b", commandId: id(randInt(N)) }), (d) => (d.found ? 1 : 0));
  run(
    "history in a 1-second accepted-time window, newest first, limit 100",
    () => {
      const from = T0 + randInt(Math.max(1, N - 1000));
      return { type: "get_command_history", id: "b", fromTimestamp: from, toTimestamp: from + 999, limit: 100 };
    },
    count,
  );
  run(
    "history in a 10-minute window, status failed, limit 100",
    () => {
      const from = T0 + randInt(Math.max(1, N - 600_000));
      return { type: "get_command_history", id: "b", fromTimestamp: from, toTimestamp: from + 599_999, status: "failed", limit: 100 };
    },
    count,
  );
  run("history without filters, newest first, limit 100", () => ({ type: "get_command_history", id: "b", limit: 100 }), count);
  store.close();
  return results;
}

const dir = mkdtempSync(join(tmpdir(), "causeway-history-bench-"));
const db = join(dir, "history.db");
try {
  console.log(`building a journal of ${N.toLocaleString("en-US")} commands (${(3 * N).toLocaleString("en-US")} journal rows)…`);
  const buildSecs = build(db);
  const bytes = statSync(db).size + (() => {
    try {
      return statSync(`${db}-wal`).size;
    } catch {
      return 0;
    }
  })();
  console.log(`built in ${buildSecs.toFixed(1)} s (${Math.round(N / buildSecs).toLocaleString("en-US")} commands/s, ${Math.round((3 * N) / buildSecs).toLocaleString("en-US")} rows/s), ${(bytes / 1e6).toFixed(0)} MB\n`);
  const results = measure(db);
  const out = {
    date: new Date().toISOString(),
    node: process.version,
    commands: N,
    journalRows: 3 * N,
    iterations: ITER,
    buildSeconds: buildSecs,
    databaseBytes: bytes,
    queries: results,
  };
  console.log(`${"query".padEnd(72)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"max ms".padStart(8)} ${"rows".padStart(6)}`);
  for (const [name, r] of Object.entries(results)) {
    console.log(`${name.padEnd(72)} ${r.p50.toFixed(3).padStart(8)} ${r.p99.toFixed(3).padStart(8)} ${r.max.toFixed(3).padStart(8)} ${r.avgRows.toFixed(1).padStart(6)}`);
  }
  mkdirSync(new URL("../../bench/results/", import.meta.url), { recursive: true });
  const file = new URL(`../../bench/results/history-${out.date.slice(0, 19).replace(/:/g, "-")}.json`, import.meta.url);
  writeFileSync(file, JSON.stringify(out, null, 2));
  console.log(`\nwrote ${file.pathname}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
