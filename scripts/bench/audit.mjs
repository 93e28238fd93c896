#!/usr/bin/env node
// causeway audit benchmark: time a full `causeway audit` (the built CLI, as a user runs it) over a
// large journal.
//
//   npm run build && AUDIT_COMMANDS=1000000 node scripts/bench/audit.mjs
//
// The journal (AUDIT_DB, default $TMPDIR/causeway-audit-bench-<N>.db) is built once and reused.
// It is written straight through SqliteStore.commit (durability off) with records shaped exactly
// like the engine's: per command `accepted` → `started` → `finished` with the outcome, effect and
// fingerprint the engine would write, over SESSIONS sessions: 16 create_session, then a mix of
// `set` (80%), `get_state` (10%), `patch` (10%), plus one idempotency-key replay every 1,000
// commands. The audit re-executes every one of them.
import { spawnSync } from "node:child_process";
import { existsSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setAtPointer } from "../../dist/commands/builtin/pointer.js";
import { SqliteStore } from "../../dist/journal/sqlite-store.js";
import { fingerprint } from "../../dist/protocol/fingerprint.js";

const N = Number(process.env.AUDIT_COMMANDS ?? 1_000_000);
const DB = process.env.AUDIT_DB ?? join(tmpdir(), `causeway-audit-bench-${N}.db`);
const RUNS = Number(process.env.AUDIT_RUNS ?? 1);
const SESSIONS = 16;
const BATCH = 3_000; // commands per commit
const CLI = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const TIMEOUT_MS = 30_000;

function build() {
  const t0 = Date.now();
  const store = new SqliteStore({ path: DB, durability: "off" });
  store.open();
  let seq = 0;
  const laneSeqs = new Map();
  let clock = Date.now() - N; // one ms per command, ending about now
  const sessions = new Map(); // id → { state, version }
  let batch = [];
  const rec = (r) => {
    const laneSeq = (laneSeqs.get(r.lane) ?? 0) + 1;
    laneSeqs.set(r.lane, laneSeq);
    batch.push({ ...r, seq: ++seq, laneSeq });
  };
  const flush = () => {
    if (batch.length === 0) return;
    store.commit(batch);
    batch = [];
  };
  const command = (env, lane, sessionId, run, extra = {}) => {
    const id = env.id;
    const fp = fingerprint(env);
    const params = {};
    for (const [k, v] of Object.entries(env)) if (!["type", "id", "sessionId", "dependsOn", "ifSessionVersion", "idempotencyKey", "timeoutMs"].includes(k)) params[k] = v;
    if (lane === "server" && env.sessionId !== undefined) params.sessionId = env.sessionId;
    const acceptedAt = ++clock;
    const common = { lane, commandId: id, sessionId, type: env.type, actor: "bench", fingerprint: fp };
    rec({ ...common, phase: "accepted", recordedAt: acceptedAt, explicitId: true, idempotencyKey: env.idempotencyKey ?? null, idempotencyScope: env.idempotencyKey ? lane : null, dependsOn: null, ifSessionVersion: null, params, timeoutMs: TIMEOUT_MS });
    rec({ ...common, phase: "started", recordedAt: acceptedAt, detail: null });
    const { outcome, effect, status = "succeeded" } = run(acceptedAt);
    const finishedAt = acceptedAt;
    const f = { ...common, phase: "finished", recordedAt: finishedAt, outcome, status, idempotencyExpiresAt: env.idempotencyKey ? finishedAt + 86_400_000 : null, detail: null };
    if (effect) f.effect = effect;
    rec(f);
    return { outcome, fp };
  };
  for (let s = 0; s < SESSIONS; s++) {
    const sid = `s${s}`;
    command({ type: "create_session", id: `create-${sid}`, sessionId: sid }, "server", null, (at) => {
      sessions.set(sid, { state: {}, version: 0 });
      return { outcome: { command: "create_session", success: true, data: { sessionId: sid, sessionInfo: { sessionId: sid, sessionVersion: 0, createdAt: at } } }, effect: { kind: "create", sessionId: sid, state: {}, version: 0 } };
    });
  }
  for (let i = SESSIONS; i < N; i++) {
    const sid = `s${i % SESSIONS}`;
    const lane = `session:${sid}`;
    const s = sessions.get(sid);
    const kind = i % 10;
    const id = `c${i}`;
    if (kind === 0) {
      command({ type: "get_state", id, sessionId: sid }, lane, sid, () => ({ outcome: { command: "get_state", success: true, data: { state: s.state }, sessionVersion: s.version } }));
    } else if (kind === 1) {
      const ops = [{ op: "add", path: "/p", value: i }];
      command({ type: "patch", id, sessionId: sid, ops }, lane, sid, () => {
        s.state = { ...s.state, p: i };
        s.version++;
        return { outcome: { command: "patch", success: true, data: { applied: 1 }, sessionVersion: s.version }, effect: { kind: "write", sessionId: sid, state: s.state, version: s.version } };
      });
    } else {
      const key = i % 1000 === 2 ? `key-${i}` : undefined;
      const env = { type: "set", id, sessionId: sid, path: `/k${i % 8}`, value: i, ...(key ? { idempotencyKey: key } : {}) };
      const { outcome, fp } = command(env, lane, sid, () => {
        s.state = setAtPointer(structuredClone(s.state), `/k${i % 8}`, i);
        s.version++;
        return { outcome: { command: "set", success: true, data: { path: `/k${i % 8}` }, sessionVersion: s.version }, effect: { kind: "write", sessionId: sid, state: s.state, version: s.version } };
      });
      if (key) rec({ lane, commandId: `${id}-retry`, sessionId: sid, phase: "replayed", recordedAt: ++clock, type: "set", actor: "bench", fingerprint: fp, outcome, detail: { replayOf: id, by: "idempotencyKey" } });
    }
    if ((i + 1) % BATCH === 0) flush();
    if ((i + 1) % 100_000 === 0) process.stderr.write(`built ${i + 1} commands\n`);
  }
  flush();
  store.close();
  return Date.now() - t0;
}

if (existsSync(DB) && process.env.AUDIT_REBUILD) rmSync(DB, { force: true });
let buildMs = null;
if (!existsSync(DB)) buildMs = build();
const size = statSync(DB).size;

const times = [];
let report = null;
let maxRssKb = null;
for (let r = 0; r < RUNS; r++) {
  const t0 = process.hrtime.bigint();
  const useTime = existsSync("/usr/bin/time");
  const args = useTime ? ["-f", "%M", process.execPath, CLI, "audit", "--db", DB, "--json"] : [CLI, "audit", "--db", DB, "--json"];
  const out = spawnSync(useTime ? "/usr/bin/time" : process.execPath, args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  if (out.status !== 0 && out.status !== 2) throw new Error(`audit failed (${out.status}): ${out.stderr}`);
  report = JSON.parse(out.stdout);
  if (useTime) maxRssKb = Number(out.stderr.trim().split("\n").pop());
}
const ms = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];
const rows = report.checkedRows;
console.log(`journal: ${DB} (${(size / 1e6).toFixed(0)} MB, ${N.toLocaleString("en-US")} commands, ${rows.toLocaleString("en-US")} rows)${buildMs !== null ? `, built in ${(buildMs / 1000).toFixed(1)} s` : ", reused"}`);
console.log(`causeway audit: ${(ms / 1000).toFixed(1)} s wall (median of ${RUNS}), ${Math.round(rows / (ms / 1000)).toLocaleString("en-US")} rows/s, ${Math.round(report.commands / (ms / 1000)).toLocaleString("en-US")} commands/s${maxRssKb ? `, peak RSS ${(maxRssKb / 1024).toFixed(0)} MB` : ""}`);
console.log(`report: ok=${report.ok}, re-executed ${report.reexecution.reexecuted} (matched ${report.reexecution.matched}), violations ${report.violations.length}, audit's own durationMs ${report.durationMs}`);
