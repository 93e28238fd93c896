#!/usr/bin/env node
// causeway benchmark harness (issue #7): `npm run bench` (full, ≈15 min) or `npm run bench -- --quick`
// (< 2 min). Every scenario starts its own `causeway serve` process; the load runs here. Baselines
// (raw ws echo, pipe echo, raw better-sqlite3 inserts, raw journal scan, and the ceiling: s1's load
// against ceiling-server.mjs, the wire protocol plus WAL FULL group commit and nothing of causeway's)
// are measured in the same run and every figure is reported with its ratio to one of them; s1, s2 at
// 5k/s and s4 also with their ratio to the ceiling.
//
//   npm run bench -- --quick                  all scenarios, small sizes (50k-command journal)
//   npm run bench -- --only s1,s6             a subset (baselines always run; names: s1 … s10)
//   BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=bench/profiles" npm run bench -- --quick --only s1
//                                             extra node flags for the server processes (profiling)
//   node scripts/bench/profile-summary.mjs bench/profiles/<file>.cpuprofile
//
// Writes bench/results/<date>.json and bench/results/<date>.md (bench/results/ is git-ignored) and
// caches generated journals in bench/cache/ (git-ignored).
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { ceilingOpenLoop, ceilingThroughput, pipeEcho, rawSqlite, wsEcho } from "./lib/baselines.mjs";
import { s1Throughput, s2Latency, s3Stdio, s4ManyConnections, s5Restart, s6History, s7Rss, s8Audit } from "./lib/scenarios.mjs";
import { s9BigDocuments } from "./lib/big-docs.mjs";
import { s10TwoNodes } from "./lib/nodes.mjs";
import { fmt, median } from "./lib/stats.mjs";
import { Command, InvalidArgumentError } from "commander";

const SCENARIOS = ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10"];
const opts = new Command("npm run bench --")
  .description("causeway benchmarks: a real server per scenario, baselines measured in the same run")
  .option("--quick", "small sizes (50k-command journal), one run per figure")
  .option("--only <list>", `a comma-separated subset of ${SCENARIOS.join(",")} (baselines always run)`, (v) => {
    const names = v.split(",").map((x) => x.trim()).filter(Boolean);
    const bad = names.filter((n) => !SCENARIOS.includes(n));
    if (bad.length > 0 || names.length === 0) throw new InvalidArgumentError(`unknown scenario ${bad.join(",") || "(none)"}; names: ${SCENARIOS.join(",")}`);
    return new Set(names);
  })
  .parse()
  .opts();
const quick = opts.quick === true;
const only = opts.only ?? null;
const want = (s) => !only || only.has(s);

const P = quick
  ? {
      mode: "quick",
      runs: 1,
      echo: { messages: 40_000, window: 256, rttSamples: 1_000, openLoopRates: [5_000], openLoopMs: 2_000 },
      sqlite: { 1: 2_000, 64: 40_000, 256: 100_000, maxMs: 1_000 },
      ceiling: { commands: 20_000, warmup: 2_000, openLoopRate: 5_000 },
      s1: { commands: 10_000, warmup: 1_000 },
      s2: { rates: [1_000, 2_000, 3_000, 5_000, 10_000], durationMs: 1_000, warmup: 1_000 },
      s3: { commands: 10_000, warmup: 1_000 },
      s4: { clients: 500, perClient: 1, durationMs: 2_000 },
      s5: { journals: [50_000], runs: 3 },
      s6: { n: 50_000, iterations: 500 },
      s7: { commands: 10_000, historyN: 50_000 },
      s8: { n: 50_000 },
      s9: { window: 64, sizes: [{ docBytes: 100, commands: 3_000, warmup: 300 }, { docBytes: 100_000, commands: 600, warmup: 60 }, { docBytes: 1_000_000, commands: 100, warmup: 10 }] },
      s10: { commands: 5_000, warmup: 500, window: 128, leaseMs: 2_000 },
    }
  : {
      mode: "full",
      runs: 3,
      echo: { messages: 200_000, window: 256, rttSamples: 5_000, openLoopRates: [1_000, 5_000, 10_000], openLoopMs: 3_000 },
      sqlite: { 1: 5_000, 64: 200_000, 256: 500_000, maxMs: 5_000 },
      ceiling: { commands: 100_000, warmup: 5_000, openLoopRate: 5_000 },
      s1: { commands: 30_000, warmup: 3_000 },
      s2: { rates: [500, 1_000, 2_000, 3_000, 4_000, 5_000, 10_000], durationMs: 5_000, warmup: 3_000 },
      s3: { commands: 30_000, warmup: 3_000 },
      s4: { clients: 500, perClient: 1, durationMs: 10_000 },
      s5: { journals: [100_000, 1_000_000], runs: 3 },
      s6: { n: 1_000_000, iterations: 2_000 },
      s7: { commands: 50_000, historyN: 1_000_000 },
      s8: { n: 1_000_000 },
      s9: { window: 64, sizes: [{ docBytes: 100, commands: 10_000, warmup: 1_000 }, { docBytes: 100_000, commands: 3_000, warmup: 300 }, { docBytes: 1_000_000, commands: 500, warmup: 50 }] },
      s10: { commands: 20_000, warmup: 2_000, window: 128, leaseMs: 2_000 },
    };
const WINDOW = 256;

const tStart = performance.now();
const log = (msg) => process.stderr.write(`[${((performance.now() - tStart) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`);
const runs = async (n, f) => {
  const xs = [];
  for (let i = 0; i < n; i++) xs.push(await f(i));
  return xs;
};

const out = {
  date: new Date().toISOString(),
  mode: P.mode,
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  memGb: Math.round(totalmem() / 2 ** 30),
  nodeArgs: process.env.BENCH_NODE_ARGS ?? "",
  params: P,
  baselines: {},
  scenarios: {},
};

// ---------------------------------------------------------------- baselines
log(`mode ${P.mode}; baselines: ws echo, pipe echo, raw SQLite, ceiling server`);
out.baselines.wsEcho = await wsEcho(P.echo);
log(`  ws echo ${fmt(out.baselines.wsEcho.msgsPerSec)} msgs/s, RTT p50 ${fmt(out.baselines.wsEcho.rttMs.p50)} ms`);
out.baselines.pipeEcho = await pipeEcho({ messages: P.echo.messages, window: WINDOW });
out.baselines.sqlite = {};
for (const batch of [1, 64, 256]) {
  out.baselines.sqlite[batch] = median((await runs(P.runs, () => rawSqlite({ batch, rows: P.sqlite[batch], maxMs: P.sqlite.maxMs }))).map((r) => r.rowsPerSec));
}
log(`  raw SQLite FULL rows/s: ${Object.entries(out.baselines.sqlite).map(([b, v]) => `${b}/txn ${fmt(v)}`).join(", ")}`);
const echo = out.baselines.wsEcho.msgsPerSec;
// the ceiling: s1's load against ceiling-server.mjs, 1 or 3 fsync'd rows per command, with lifecycle
// events (s1's shape) or responses only; its open loop at s2's 5k/s. Ratios "× ceiling" use 1 row + events.
out.baselines.ceiling = { events: {}, responsesOnly: {} };
for (const [kind, events] of [["events", true], ["responsesOnly", false]]) {
  for (const rowsPerCommand of [1, 3]) {
    const rs = await runs(P.runs, () => ceilingThroughput({ rowsPerCommand, events, commands: P.ceiling.commands, window: WINDOW, warmup: P.ceiling.warmup }));
    const m = median(rs.map((r) => r.commandsPerSec));
    out.baselines.ceiling[kind][rowsPerCommand] = { commandsPerSec: m, ratioToWsEcho: m / echo, rowsPerCommit: median(rs.map((r) => r.rowsPerCommit)), p99Ms: median(rs.map((r) => r.latencyMs.p99)), runs: rs };
    log(`  ceiling, ${rowsPerCommand} row(s)/command, ${events ? "3 events + response" : "response only"}: ${fmt(m)} msgs/s (${fmt(m / echo, 3)} × ws echo), ${fmt(out.baselines.ceiling[kind][rowsPerCommand].rowsPerCommit)} rows per commit`);
  }
}
out.baselines.ceiling.openLoop = await ceilingOpenLoop({ rowsPerCommand: 1, events: true, rates: [P.ceiling.openLoopRate], durationMs: P.s2.durationMs, warmup: P.s2.warmup });
for (const [rate, r] of Object.entries(out.baselines.ceiling.openLoop)) log(`  ceiling open loop ${rate}/s: p50 ${fmt(r.latencyMs.p50)} p99 ${fmt(r.latencyMs.p99)} p99.9 ${fmt(r.latencyMs.p999)} ms`);
const ceiling = out.baselines.ceiling.events[1].commandsPerSec;
const xCeiling = (perSec) => `${fmt(perSec / ceiling, 3)} × ceiling`;

// ---------------------------------------------------------------- scenarios
const S = out.scenarios;
if (want("s1")) {
  S.s1 = {};
  for (const durability of ["full", "normal"]) {
    log(`s1: durable set throughput, one WebSocket, 64 sessions, ${WINDOW} in flight, durability ${durability}`);
    const rs = await runs(P.runs, () => s1Throughput({ durability, commands: P.s1.commands, window: WINDOW, warmup: P.s1.warmup }));
    const m = median(rs.map((r) => r.commandsPerSec));
    S.s1[durability] = { commandsPerSec: m, runs: rs, ratioToWsEcho: m / echo, ratioToCeiling: m / ceiling, p99Ms: median(rs.map((r) => r.latencyMs.p99)), writtenBytesPerCommand: median(rs.map((r) => r.writtenBytesPerCommand)), cpuUsPerCommand: median(rs.map((r) => r.cpuUsPerCommand)) };
    log(`  ${fmt(m)} commands/s (${fmt(m / echo, 3)} × ws echo, ${xCeiling(m)}), ${fmt(median(rs.map((r) => r.rowsPerCommit)))} journal rows per commit, ${fmt(S.s1[durability].writtenBytesPerCommand)} bytes written and ${fmt(S.s1[durability].cpuUsPerCommand)} µs of server CPU per command`);
  }
  log(`s1: the same, durability full, responses only (subscribe {lifecycle: "none"})`);
  const rs = await runs(P.runs, () => s1Throughput({ durability: "full", commands: P.s1.commands, window: WINDOW, warmup: P.s1.warmup, lifecycle: "none" }));
  const m = median(rs.map((r) => r.commandsPerSec));
  const ceilingResponses = out.baselines.ceiling.responsesOnly?.[1]?.commandsPerSec;
  S.s1.responsesOnly = { commandsPerSec: m, runs: rs, ratioToWsEcho: m / echo, ratioToCeilingResponsesOnly: ceilingResponses ? m / ceilingResponses : null, p99Ms: median(rs.map((r) => r.latencyMs.p99)), cpuUsPerCommand: median(rs.map((r) => r.cpuUsPerCommand)) };
  log(`  ${fmt(m)} commands/s (${fmt(m / echo, 3)} × ws echo${ceilingResponses ? `, ${fmt(m / ceilingResponses, 3)} × ceiling responses only` : ""}), ${fmt(S.s1.responsesOnly.cpuUsPerCommand)} µs of server CPU per command`);
}
if (want("s1")) {
  // the Redis store (#18), same load: a fresh redis-server per run, appendonly yes + appendfsync always
  log(`s1: the same on the Redis store (--store redis://…, appendfsync always), with lifecycle events`);
  const rs = await runs(P.runs, () => s1Throughput({ store: "redis", durability: "full", commands: P.s1.commands, window: WINDOW, warmup: P.s1.warmup }));
  const m = median(rs.map((r) => r.commandsPerSec));
  S.s1redis = { commandsPerSec: m, runs: rs, ratioToWsEcho: m / echo, ratioToCeiling: m / ceiling, ratioToSqlite: S.s1?.full ? m / S.s1.full.commandsPerSec : null, p99Ms: median(rs.map((r) => r.latencyMs.p99)), writtenBytesPerCommand: median(rs.map((r) => r.writtenBytesPerCommand)), redisWrittenBytesPerCommand: median(rs.map((r) => r.storeWrittenBytesPerCommand)) };
  log(`  ${fmt(m)} commands/s (${fmt(m / echo, 3)} × ws echo, ${xCeiling(m)}${S.s1redis.ratioToSqlite === null ? "" : `, ${fmt(S.s1redis.ratioToSqlite, 2)} × SQLite`}), redis-server wrote ${fmt(S.s1redis.redisWrittenBytesPerCommand)} B and causeway ${fmt(S.s1redis.writtenBytesPerCommand)} B per command`);
}
if (want("s2")) {
  log(`s2: open-loop latency at ${P.s2.rates.join(", ")} commands/s`);
  S.s2 = await s2Latency(P.s2);
  for (const [rate, r] of Object.entries(S.s2)) if (out.baselines.ceiling.openLoop[rate]) r.p99RatioToCeiling = r.latencyMs.p99 / out.baselines.ceiling.openLoop[rate].latencyMs.p99;
  for (const [rate, r] of Object.entries(S.s2)) log(`  ${rate}/s: p50 ${fmt(r.latencyMs.p50)} p99 ${fmt(r.latencyMs.p99)} p99.9 ${fmt(r.latencyMs.p999)} ms (achieved ${fmt(r.achievedPerSec)}/s, ${r.failed} failed)`);
  // the highest offered rate (of those measured) whose p99 stayed ≤ 10 ms
  const within = Object.entries(S.s2).filter(([, r]) => r.latencyMs.p99 <= 10).map(([rate]) => Number(rate));
  out.s2HighestRateP99Within10Ms = within.length ? Math.max(...within) : null;
  log(`  highest offered rate with p99 ≤ 10 ms: ${out.s2HighestRateP99Within10Ms === null ? `none of ${P.s2.rates.join(", ")}/s` : `${fmt(out.s2HighestRateP99Within10Ms)}/s`}`);
}
if (want("s2")) {
  log(`s2: open-loop latency on the Redis store at ${P.s2.rates.join(", ")} commands/s`);
  S.s2redis = await s2Latency({ ...P.s2, store: "redis" });
  for (const [rate, r] of Object.entries(S.s2redis)) log(`  ${rate}/s: p50 ${fmt(r.latencyMs.p50)} p99 ${fmt(r.latencyMs.p99)} p99.9 ${fmt(r.latencyMs.p999)} ms (achieved ${fmt(r.achievedPerSec)}/s, ${r.failed} failed)`);
}
if (want("s3")) {
  log("s3: stdio throughput");
  const rs = await runs(P.runs, () => s3Stdio({ commands: P.s3.commands, window: WINDOW, warmup: P.s3.warmup }));
  const m = median(rs.map((r) => r.commandsPerSec));
  S.s3 = { commandsPerSec: m, runs: rs, ratioToPipeEcho: m / out.baselines.pipeEcho.msgsPerSec, ratioToWsEcho: m / echo };
  log(`  ${fmt(m)} commands/s`);
}
if (want("s4")) {
  // lifecycle events go to every connection (pi-server's broadcast): what that costs with 1, 10
  // and 500 connections, each writing its own session, 256 commands in flight in all
  S.s4sweep = {};
  for (const clients of [1, 10]) {
    log(`s4: ${clients} WebSocket client(s), each on its own session, ${Math.floor(256 / clients)} in flight each`);
    const r = await s4ManyConnections({ ...P.s4, clients, perClient: Math.floor(256 / clients) });
    r.ratioToWsEcho = r.commandsPerSec / echo;
    r.ratioToCeiling = r.commandsPerSec / ceiling;
    S.s4sweep[clients] = r;
    log(`  ${fmt(r.commandsPerSec)} commands/s, p99 ${fmt(r.latencyMs.p99)} ms`);
  }
  log(`s4: ${P.s4.clients} WebSocket clients that narrowed their lifecycle events to their own commands`);
  S.s4own = await s4ManyConnections({ ...P.s4, lifecycle: "own" });
  S.s4own.ratioToWsEcho = S.s4own.commandsPerSec / echo;
  S.s4own.ratioToCeiling = S.s4own.commandsPerSec / ceiling;
  log(`  ${fmt(S.s4own.commandsPerSec)} commands/s, p99 ${fmt(S.s4own.latencyMs.p99)} ms`);
  log(`s4: ${P.s4.clients} WebSocket clients, each on its own session`);
  S.s4 = await s4ManyConnections(P.s4);
  S.s4.ratioToWsEcho = S.s4.commandsPerSec / echo;
  S.s4.ratioToCeiling = S.s4.commandsPerSec / ceiling;
  S.s4sweep[P.s4.clients] = S.s4;
  log(`  ${fmt(S.s4.commandsPerSec)} commands/s, p99 ${fmt(S.s4.latencyMs.p99)} ms, setup ${fmt(S.s4.setupMs)} ms`);
}
if (want("s5")) {
  S.s5 = {};
  for (const n of P.s5.journals) {
    log(`s5: restart (after kill -9) on a ${n.toLocaleString("en-US")}-command journal`);
    S.s5[n] = await s5Restart({ n, runs: P.s5.runs, log });
    log(`  ready in ${fmt(S.s5[n].readyMs)} ms (empty journal ${fmt(S.s5[n].emptyJournal.readyMs)} ms)`);
  }
}
if (want("s6")) {
  log(`s6: history queries on a ${P.s6.n.toLocaleString("en-US")}-command journal`);
  S.s6 = await s6History({ ...P.s6, log });
  for (const [q, r] of Object.entries(S.s6.queries)) log(`  ${q}: p50 ${fmt(r.p50)} p99 ${fmt(r.p99)} ms`);
}
if (want("s7")) {
  log(`s7: RSS while ${P.s7.commands.toLocaleString("en-US")} commands go through a server, on an empty journal and on a ${P.s7.historyN.toLocaleString("en-US")}-command one`);
  S.s7 = await s7Rss({ ...P.s7, window: WINDOW, log });
}
if (want("s8")) {
  log(`s8: offline audit of a ${P.s8.n.toLocaleString("en-US")}-command journal`);
  S.s8 = s8Audit({ ...P.s8, log });
  log(`  ${fmt(S.s8.secs)} s (raw scan ${fmt(S.s8.rawScanSecs)} s), peak RSS ${fmt(S.s8.peakRssMb)} MB, ok=${S.s8.ok}`);
}
if (want("s9")) {
  log(`s9: one-key set on ~100 B, ~100 KB and ~1 MB documents (${P.s9.window} in flight, durability full, responses only)`);
  S.s9 = await s9BigDocuments({ ...P.s9, log });
}
if (want("s10")) {
  log(`s10: two nodes on one Redis journal (--node a / b, a client and 64 sessions each) vs one node with the same two clients; then node a killed -9 under load (lease ${P.s10.leaseMs} ms)`);
  S.s10 = await s10TwoNodes(P.s10);
  log(`  one node ${fmt(S.s10.oneNode.commandsPerSec)} cmds/s, two nodes ${fmt(S.s10.twoNodes.commandsPerSec)} cmds/s (${fmt(S.s10.ratioTwoToOne, 2)} × one node); takeover: node b served node a's session ${fmt(S.s10.takeover.servedMs)} ms after the kill (${S.s10.takeover.unfinishedAtKill} command(s) left unfinished, all finished ${fmt(S.s10.takeover.resolvedMs)} ms after it)`);
}
out.totalSeconds = (performance.now() - tStart) / 1000;

// ---------------------------------------------------------------- table
const rows = [];
const row = (scenario, metric, value, unit, target, met, baseline, ceilingRatio) => rows.push({ scenario, metric, value, unit, target, met, baseline, ceiling: ceilingRatio });
const bl = out.baselines;
row("baseline", "ws echo, one loopback connection, 256 in flight", bl.wsEcho.msgsPerSec, "msgs/s");
row("baseline", "ws echo RTT p50 / p99 (one in flight)", `${fmt(bl.wsEcho.rttMs.p50)} / ${fmt(bl.wsEcho.rttMs.p99)}`, "ms");
for (const [rate, r] of Object.entries(bl.wsEcho.openLoop)) row("baseline", `ws echo open loop ${rate}/s p50 / p99 / p99.9`, `${fmt(r.latencyMs.p50)} / ${fmt(r.latencyMs.p99)} / ${fmt(r.latencyMs.p999)}`, "ms");
row("baseline", "pipe echo (child process), 256 in flight", bl.pipeEcho.msgsPerSec, "msgs/s");
for (const [b, v] of Object.entries(bl.sqlite)) row("baseline", `better-sqlite3 insert, WAL, FULL, ${b} rows/txn`, v, "rows/s");
for (const [kind, what] of [["events", "3 events + response"], ["responsesOnly", "response only"]]) {
  for (const [n, c] of Object.entries(bl.ceiling[kind])) row("baseline", `ceiling, s1 load, ${n} row${n === "1" ? "" : "s"}/cmd, ${what}`, c.commandsPerSec, "msgs/s", "", undefined, `${fmt(c.ratioToWsEcho, 3)} × ws echo`);
}
for (const [rate, r] of Object.entries(bl.ceiling.openLoop)) row("baseline", `ceiling open loop ${rate}/s p50 / p99 / p99.9`, `${fmt(r.latencyMs.p50)} / ${fmt(r.latencyMs.p99)} / ${fmt(r.latencyMs.p999)}`, "ms");
if (S.s1) {
  const f = S.s1.full;
  row("1 durable set, 1 ws, 64 sessions, 256 in flight", "durability full", f.commandsPerSec, "cmds/s", "≥ 40,000 and ≥ 0.25 × echo", f.commandsPerSec >= 40_000 && f.ratioToWsEcho >= 0.25, `${fmt(f.ratioToWsEcho, 3)} × ws echo`, xCeiling(f.commandsPerSec));
  row("1 durable set, 1 ws, 64 sessions, 256 in flight", "durability normal", S.s1.normal.commandsPerSec, "cmds/s", "", undefined, `${fmt(S.s1.normal.ratioToWsEcho, 3)} × ws echo`, xCeiling(S.s1.normal.commandsPerSec));
  const ro = S.s1.responsesOnly;
  row("1 durable set, 1 ws, 64 sessions, 256 in flight", "durability full, responses only (lifecycle none)", ro.commandsPerSec, "cmds/s", "≥ 0.35 × echo", ro.ratioToWsEcho >= 0.35, `${fmt(ro.ratioToWsEcho, 3)} × ws echo`, ro.ratioToCeilingResponsesOnly === null ? "" : `${fmt(ro.ratioToCeilingResponsesOnly, 3)} × ceiling (responses only)`);
}
if (S.s1?.full.writtenBytesPerCommand != null) {
  const b = S.s1.full.writtenBytesPerCommand;
  row("1 durable set, 1 ws, 64 sessions, 256 in flight", "bytes written to storage per command (full)", b, "B", "≤ 4,096", b <= 4096, "");
}
if (S.s1?.full.cpuUsPerCommand != null) {
  const cpu = (r) => fmt(r.cpuUsPerCommand);
  row("1 durable set, 1 ws, 64 sessions, 256 in flight", "server CPU per command, full / normal / responses only", `${cpu(S.s1.full)} / ${cpu(S.s1.normal)} / ${cpu(S.s1.responsesOnly)}`, "µs", "", undefined, "");
}
if (S.s2) {
  for (const [rate, r] of Object.entries(S.s2)) {
    const e = bl.wsEcho.openLoop[rate];
    const is5k = Number(rate) === 5_000;
    row("2 open-loop latency, durability full", `${rate}/s p50 / p99 / p99.9 (achieved ${fmt(r.achievedPerSec)}/s)`, `${fmt(r.latencyMs.p50)} / ${fmt(r.latencyMs.p99)} / ${fmt(r.latencyMs.p999)}`, "ms", is5k ? "p99 ≤ 2 ms" : "", is5k ? r.latencyMs.p99 <= 2 : undefined, e ? `p99 ${fmt(r.latencyMs.p99 / e.latencyMs.p99, 1)} × echo p99 at ${rate}/s` : "", r.p99RatioToCeiling === undefined ? undefined : `p99 ${fmt(r.p99RatioToCeiling, 1)} × ceiling p99`);
  }
}
if (S.s1redis) {
  const r = S.s1redis;
  row("1 durable set on the Redis store (appendfsync always)", `redis-server wrote ${fmt(r.redisWrittenBytesPerCommand)} B, causeway ${fmt(r.writtenBytesPerCommand)} B per command`, r.commandsPerSec, "cmds/s", "report", undefined, `${fmt(r.ratioToWsEcho, 3)} × ws echo${r.ratioToSqlite === null ? "" : `, ${fmt(r.ratioToSqlite, 2)} × SQLite full`}`, xCeiling(r.commandsPerSec));
}
if (S.s2redis) {
  for (const [rate, r] of Object.entries(S.s2redis)) {
    const sq = S.s2?.[rate];
    row("2 open-loop latency, Redis store", `${rate}/s p50 / p99 / p99.9 (achieved ${fmt(r.achievedPerSec)}/s)`, `${fmt(r.latencyMs.p50)} / ${fmt(r.latencyMs.p99)} / ${fmt(r.latencyMs.p999)}`, "ms", "report", undefined, sq ? `p99 ${fmt(r.latencyMs.p99 / sq.latencyMs.p99, 2)} × SQLite p99` : "");
  }
}
if (S.s2) row("2 open-loop latency, durability full", `highest offered rate with p99 ≤ 10 ms (of ${P.s2.rates.join(", ")}/s)`, out.s2HighestRateP99Within10Ms ?? "none", "cmds/s", "report", undefined, "");
if (S.s3) row("3 stdio pipe, 256 in flight", "durability full", S.s3.commandsPerSec, "cmds/s", "", undefined, `${fmt(S.s3.ratioToPipeEcho, 3)} × pipe echo`);
if (S.s4sweep) {
  for (const clients of [1, 10]) {
    const r = S.s4sweep[clients];
    if (r) row(`4 ${clients} ws client(s), own session each, ${r.perClient} in flight each`, `p50 / p99 ${fmt(r.latencyMs.p50)} / ${fmt(r.latencyMs.p99)} ms`, r.commandsPerSec, "cmds/s", "", undefined, `${fmt(r.ratioToWsEcho, 3)} × ws echo`, xCeiling(r.commandsPerSec));
  }
}
if (S.s4own) row(`4 ${S.s4own.clients} ws clients, lifecycle "own", 1 in flight each`, `p50 / p99 ${fmt(S.s4own.latencyMs.p50)} / ${fmt(S.s4own.latencyMs.p99)} ms`, S.s4own.commandsPerSec, "cmds/s", "", undefined, `${fmt(S.s4own.ratioToWsEcho, 3)} × ws echo`, xCeiling(S.s4own.commandsPerSec));
if (S.s4) row("4 500 ws clients, own session each, 1 in flight each", `p50 / p99 ${fmt(S.s4.latencyMs.p50)} / ${fmt(S.s4.latencyMs.p99)} ms`, S.s4.commandsPerSec, "cmds/s", "", undefined, `${fmt(S.s4.ratioToWsEcho, 3)} × ws echo`, xCeiling(S.s4.commandsPerSec));
if (S.s5) {
  for (const [n, r] of Object.entries(S.s5)) {
    const target = Number(n) === 1_000_000 ? "≤ 2,000 ms" : "";
    row("5 restart after kill -9 (spawn → listening)", `${Number(n).toLocaleString("en-US")} commands`, r.readyMs, "ms", target, target ? r.readyMs <= 2000 : undefined, `${fmt(r.ratioToEmpty, 2)} × empty journal (${fmt(r.emptyJournal.readyMs)} ms)`);
  }
}
if (S.s6) {
  for (const [q, r] of Object.entries(S.s6.queries)) {
    row(`6 history, ${S.s6.commands.toLocaleString("en-US")}-command journal`, `${q} p50 / p99`, `${fmt(r.p50)} / ${fmt(r.p99)}`, "ms", "p99 ≤ 5 ms", r.p99 <= 5, `p50 ${fmt(r.p50 / bl.wsEcho.rttMs.p50, 1)} × echo RTT`);
  }
}
if (S.s7) {
  const h = S.s7.historyCommands.toLocaleString("en-US");
  row("7 peak RSS, empty journal", `${S.s7.commands.toLocaleString("en-US")} commands; growth after 20%: ${fmt(S.s7.fresh.growthFrom20PctMb)} MB`, S.s7.fresh.peakRssMb, "MB", "≤ 150 MB, flat", S.s7.fresh.peakRssMb <= 150 && S.s7.fresh.growthFrom20PctMb < 10, `${fmt(S.s7.fresh.peakRssMb / S.s7.idleRssMb, 2)} × idle server (${fmt(S.s7.idleRssMb)} MB)`);
  row(`7 peak RSS, ${h}-command journal`, `same load; growth after 20%: ${fmt(S.s7.history.growthFrom20PctMb)} MB`, S.s7.history.peakRssMb, "MB", "≤ 150 MB, = empty", S.s7.history.peakRssMb <= 150, `${fmt(S.s7.historyMinusFreshMb, 1)} MB vs empty journal`);
}
if (S.s8) {
  row(`8 offline audit, ${S.s8.commands.toLocaleString("en-US")} commands`, `${S.s8.rows.toLocaleString("en-US")} rows, peak RSS ${fmt(S.s8.peakRssMb)} MB, ok=${S.s8.ok}`, S.s8.secs, "s", S.s8.commands === 1_000_000 ? "≤ 10 s" : "(≤ 10 s at 1M)", S.s8.commands === 1_000_000 ? S.s8.secs <= 10 : S.s8.secs <= 1, `${fmt(S.s8.ratioToRawScan, 1)} × raw row scan (${fmt(S.s8.rawScanSecs)} s)`);
}
if (S.s9) {
  const targets = { 100_000: 0.5, 1_000_000: 0.2 };
  for (const r of Object.values(S.s9)) {
    const t = targets[r.docBytes];
    row("9 one-key set on big documents, 1 ws, 64 in flight", `${r.docBytes.toLocaleString("en-US")} B documents; ${r.writtenBytesPerCommand === null ? "?" : fmt(r.writtenBytesPerCommand)} B written per command`, r.commandsPerSec, "cmds/s", t ? `≥ ${t} × small documents` : "", t ? r.ratioToSmall >= t : undefined, `${fmt(r.ratioToSmall, 3)} × small documents`);
  }
}
if (S.s10) {
  const r = S.s10;
  row("10 two nodes on one Redis journal, a client and 64 sessions each, 128 in flight each", `p99 ${fmt(r.twoNodes.p99Ms)} ms (one node: ${fmt(r.oneNode.p99Ms)} ms)`, r.twoNodes.commandsPerSec, "cmds/s", "report", undefined, `${fmt(r.ratioTwoToOne, 2)} × one node with the same clients (${fmt(r.oneNode.commandsPerSec)} cmds/s)`);
  row("10 takeover after kill -9 of a node under load", `kill → the other node serves its session (lease ${r.takeover.leaseMs} ms; ${r.takeover.unfinishedAtKill} left unfinished, all finished after ${fmt(r.takeover.resolvedMs)} ms)`, r.takeover.servedMs, "ms", "≤ 1.25 × lease", r.takeover.servedMs <= r.takeover.leaseMs * 1.25, `${fmt(r.takeover.servedMs / r.takeover.leaseMs, 2)} × lease`);
}
out.table = rows;

const metCell = (m) => (m === undefined ? "" : m ? "met" : "**gap**");
const md = [
  `# causeway bench, ${out.date.slice(0, 10)} (${P.mode})`,
  "",
  `Node ${out.node}, ${out.cpus} × ${out.cpuModel}, ${out.memGb} GB; total ${fmt(out.totalSeconds)} s.${quick ? " Quick mode: smaller sizes (50k-command journal instead of 1M for s5/s6/s7/s8, 10k commands for s7), one run per figure." : ` Medians of ${P.runs} runs where repeated.`}`,
  "",
  "| scenario | metric | value | unit | target | met | vs baseline (same run) | × ceiling |",
  "|---|---|---:|---|---|---|---|---|",
  ...rows.map((r) => `| ${r.scenario} | ${r.metric} | ${typeof r.value === "number" ? fmt(r.value) : r.value} | ${r.unit} | ${r.target ?? ""} | ${metCell(r.met)} | ${r.baseline ?? ""} | ${r.ceiling ?? ""} |`),
  "",
  `× ceiling: against s1's load on ceiling-server.mjs (the wire protocol + WAL FULL group commit, nothing of causeway's) with 1 row per command and 3 lifecycle events + a response (${fmt(ceiling)} msgs/s); s2 against the ceiling's p99 at the same offered rate.`,
  "",
].join("\n");

const w = (s, n) => (s.length > n ? s.slice(0, n - 1) + "…" : s.padEnd(n));
console.log("");
console.log(`${w("scenario", 48)} ${w("metric", 52)} ${"value".padStart(22)} ${w("unit", 7)} ${w("target", 26)} ${w("met", 5)} ${w("vs baseline", 40)} × ceiling`);
for (const r of rows) console.log(`${w(r.scenario, 48)} ${w(r.metric, 52)} ${(typeof r.value === "number" ? fmt(r.value) : r.value).padStart(22)} ${w(r.unit, 7)} ${w(r.target ?? "", 26)} ${w(r.met === undefined ? "" : r.met ? "met" : "GAP", 5)} ${w(r.baseline ?? "", 40)} ${r.ceiling ?? ""}`);

const dir = fileURLToPath(new URL("../../bench/results/", import.meta.url));
mkdirSync(dir, { recursive: true });
const stamp = out.date.slice(0, 19).replace(/:/g, "-");
writeFileSync(`${dir}${stamp}${quick ? "-quick" : ""}.json`, JSON.stringify(out, null, 2));
writeFileSync(`${dir}${stamp}${quick ? "-quick" : ""}.md`, md);
console.log(`\nwrote bench/results/${stamp}${quick ? "-quick" : ""}.json and .md (${fmt(out.totalSeconds)} s)`);
