#!/usr/bin/env node
// causeway benchmark: `npm run bench`. Figures are medians of several runs, reported next to a
// raw SQLite baseline taken in the same run (these machines are noisy: compare ratios).
//
//   BENCH_COMMANDS=20000 BENCH_RUNS=3 BENCH_WINDOW=512 npm run bench
// The causeway figure: SESSIONS sessions, one in-process connection keeping WINDOW `set` commands
// in flight (no transport), through the full dispatcher → engine → journal path.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pino from "pino";
import { BUILTIN_COMMANDS } from "../../dist/commands/builtin/index.js";
import { registerImmediateCommands } from "../../dist/commands/immediate.js";
import { CommandRegistry } from "../../dist/commands/registry.js";
import { DEFAULT_CONFIG } from "../../dist/config/defaults.js";
import { Engine } from "../../dist/engine/engine.js";
import { SqliteStore } from "../../dist/journal/sqlite-store.js";
import { createDispatcher } from "../../dist/protocol/dispatch.js";
import { SchemaSet } from "../../dist/protocol/schemas.js";

const COMMANDS = Number(process.env.BENCH_COMMANDS ?? 20_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SESSIONS = 16;
const WINDOW = Number(process.env.BENCH_WINDOW ?? 512);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const tmp = () => mkdtempSync(join(tmpdir(), "causeway-bench-"));

function rawSqlite(sync, batch) {
  const dir = tmp();
  const db = new Database(join(dir, "raw.db"));
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${sync}`);
  db.exec("CREATE TABLE t (seq INTEGER PRIMARY KEY, lane TEXT, body TEXT)");
  const ins = db.prepare("INSERT INTO t (seq, lane, body) VALUES (?, ?, ?)");
  const body = JSON.stringify({ type: "set", path: "/k", value: 1, pad: "x".repeat(120) });
  const rows = COMMANDS * 3;
  const tx = db.transaction((from, n) => {
    for (let i = 0; i < n; i++) ins.run(from + i, "session:s", body);
  });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rows; i += batch) tx(i + 1, Math.min(batch, rows - i));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return rows / secs;
}

function makeServer(db, durability) {
  const config = { ...DEFAULT_CONFIG, db, durability, limits: { ...DEFAULT_CONFIG.limits, maxInFlightPerConnection: COMMANDS + 100, maxQueuePerLane: COMMANDS + 100 } };
  const registry = new CommandRegistry();
  for (const d of BUILTIN_COMMANDS) registry.register(d);
  registerImmediateCommands(registry);
  const store = new SqliteStore({ path: db, durability });
  const log = pino({ level: "silent" });
  const engine = new Engine({ config, store, registry, log });
  const t0 = process.hrtime.bigint();
  engine.start();
  const startMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const handler = createDispatcher({ engine, registry, schemas: new SchemaSet(registry, config.limits), services: { engine, store, config, serverVersion: "bench", transports: [] }, log });
  return { engine, store, handler, startMs };
}

// A fake connection that keeps `window` commands in flight, like a pipelining client.
function connection(handler, window = 512) {
  let outstanding = 0;
  let next = 0;
  let frames = [];
  let done;
  const conn = {
    id: "bench",
    transport: "stdio",
    actor: "bench",
    roles: [],
    closed: false,
    send(_frame, kind) {
      if (kind !== "response") return true;
      outstanding--;
      if (next < frames.length) pump();
      else if (outstanding === 0 && done) done();
      return true;
    },
    bufferedBytes: () => 0,
    close() {},
  };
  const pump = () => {
    while (outstanding < window && next < frames.length) {
      outstanding++;
      handler.onFrame(conn, frames[next++]);
    }
  };
  handler.onOpen(conn);
  return {
    run(list) {
      frames = list;
      next = 0;
      return new Promise((resolve) => {
        done = resolve;
        pump();
      });
    },
  };
}

async function causeway(durability) {
  const dir = tmp();
  const { engine, store, handler } = makeServer(join(dir, "bench.db"), durability);
  const c = connection(handler, WINDOW);
  await c.run(Array.from({ length: SESSIONS }, (_, i) => JSON.stringify({ type: "create_session", sessionId: `s${i}` })));
  const frames = Array.from({ length: COMMANDS }, (_, i) => JSON.stringify({ type: "set", id: `c${i}`, sessionId: `s${i % SESSIONS}`, path: "/k", value: i }));
  const t0 = process.hrtime.bigint();
  await c.run(frames);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  engine.beginShutdown();
  await engine.drain(10_000);
  store.close();
  rmSync(dir, { recursive: true, force: true });
  return COMMANDS / secs;
}

async function startup(history) {
  const dir = tmp();
  const db = join(dir, "history.db");
  {
    const { engine, store, handler } = makeServer(db, "off");
    const c = connection(handler);
    await c.run(Array.from({ length: SESSIONS }, (_, i) => JSON.stringify({ type: "create_session", sessionId: `s${i}` })));
    for (let done = 0; done < history; done += 10_000) {
      const n = Math.min(10_000, history - done);
      await c.run(Array.from({ length: n }, (_, i) => JSON.stringify({ type: "set", id: `h${done + i}`, sessionId: `s${i % SESSIONS}`, path: "/k", value: i })));
    }
    engine.beginShutdown();
    await engine.drain(10_000);
    store.close();
  }
  const times = [];
  for (let r = 0; r < RUNS; r++) {
    const { store, startMs } = makeServer(db, "full");
    times.push(startMs);
    store.close();
  }
  rmSync(dir, { recursive: true, force: true });
  return median(times);
}

const results = { date: new Date().toISOString(), node: process.version, commands: COMMANDS, runs: RUNS, sessions: SESSIONS, window: WINDOW };
const table = [];
const raw1 = median(Array.from({ length: RUNS }, () => rawSqlite("FULL", 1)));
const raw256 = median(Array.from({ length: RUNS }, () => rawSqlite("FULL", 256)));
table.push(["raw SQLite insert, FULL, 1 row/txn (rows/s)", raw1]);
table.push(["raw SQLite insert, FULL, 256 rows/txn (rows/s)", raw256]);
results.rawRowsPerSecFull1 = raw1;
results.rawRowsPerSecFull256 = raw256;
for (const mode of ["full", "normal", "off"]) {
  const xs = [];
  for (let r = 0; r < RUNS; r++) xs.push(await causeway(mode));
  const m = median(xs);
  results[`durableCommandsPerSec_${mode}`] = m;
  table.push([`causeway set commands/s, durability=${mode} (3 journal rows each)`, m]);
}
for (const history of [10_000, 100_000]) {
  const ms = await startup(history);
  results[`startupMs_${history}`] = ms;
  table.push([`startup (open + recovery) with ${history} commands of history (ms)`, ms]);
}
results.startupRatio100kTo10k = results.startupMs_100000 / results.startupMs_10000;
table.push(["startup ratio 100k / 10k history", results.startupRatio100kTo10k]);
results.fullVsRawRowsRatio = (results.durableCommandsPerSec_full * 3) / raw256;
table.push(["durability=full journal rows/s ÷ raw 256-row baseline", results.fullVsRawRowsRatio]);

for (const [name, v] of table) console.log(`${name.padEnd(72)} ${v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toFixed(2)}`);
mkdirSync(new URL("../../bench/results/", import.meta.url), { recursive: true });
writeFileSync(new URL(`../../bench/results/${results.date.slice(0, 19).replace(/:/g, "-")}.json`, import.meta.url), JSON.stringify(results, null, 2));
