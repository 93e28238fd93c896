// A large journal written straight through SqliteStore.commit (durability off), in-process: records
// shaped exactly like the engine's (accepted → started → finished, outcome, effect, fingerprint), so
// `causeway audit` re-executes and matches every command and a server restarts on it.
// SESSIONS create_session commands, then over SESSIONS sessions: `set` (80%, one idempotency-key
// replay every 1,000 commands), `get_state` (10%), `patch` (10%); one command per ms of recorded
// time starting at meta.t0. Cached under bench/cache/ (git-ignored) keyed by size, generator
// version and schema version; meta sits next to it as JSON.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { setAtPointer } from "../../../dist/commands/builtin/pointer.js";
import { SqliteStore } from "../../../dist/journal/sqlite-store.js";
import { LATEST_SCHEMA_VERSION } from "../../../dist/journal/migrations/index.js";
import { fingerprint } from "../../../dist/protocol/fingerprint.js";

const GENERATOR = 1;
export const CACHE_DIR = fileURLToPath(new URL("../../../bench/cache/", import.meta.url));
const BATCH = 5_000; // commands per commit
const TIMEOUT_MS = 30_000;
const NOT_PARAMS = new Set(["type", "id", "sessionId", "dependsOn", "ifSessionVersion", "idempotencyKey", "timeoutMs"]);

export const sessionName = (i) => `s${i}`;
export const commandName = (i) => `c${i}`;

/** Path + meta of a cached journal of `n` commands, building it first when missing. */
export function cachedJournal(n, { sessions = 1000, log = () => {} } = {}) {
  mkdirSync(CACHE_DIR, { recursive: true });
  const base = `${CACHE_DIR}journal-${n}-s${sessions}-g${GENERATOR}-v${LATEST_SCHEMA_VERSION}`;
  const db = `${base}.db`;
  const metaFile = `${base}.json`;
  if (existsSync(db) && existsSync(metaFile)) return { db, meta: JSON.parse(readFileSync(metaFile, "utf8")), built: false };
  for (const f of [db, `${db}-wal`, `${db}-shm`, `${base}.tmp.db`, `${base}.tmp.db-wal`, `${base}.tmp.db-shm`]) rmSync(f, { force: true });
  const tmp = `${base}.tmp.db`;
  log(`building a ${n.toLocaleString("en-US")}-command journal (cached in bench/cache/) …`);
  const meta = buildJournal(tmp, n, { sessions, log });
  renameSync(tmp, db);
  writeFileSync(metaFile, JSON.stringify(meta, null, 2));
  return { db, meta, built: true };
}

/** Write the journal of `n` commands to a new database at `path` (no cache); returns its meta. */
export function buildJournal(path, n, { sessions: nSessions = 1000, log = () => {} } = {}) {
  const t0 = performance.now();
  const store = new SqliteStore({ path, durability: "off" });
  store.open();
  store.database().pragma("cache_size = -262144");
  let seq = 0;
  const laneSeqs = new Map();
  const start = Date.now() - n - 60_000;
  let clock = start;
  const sessions = new Map();
  let batch = [];
  const rec = (r) => {
    const laneSeq = (laneSeqs.get(r.lane) ?? 0) + 1;
    laneSeqs.set(r.lane, laneSeq);
    r.seq = ++seq;
    r.laneSeq = laneSeq;
    batch.push(r);
  };
  const flush = () => {
    if (batch.length === 0) return;
    store.commit(batch);
    batch = [];
  };
  const command = (env, lane, sessionId, run) => {
    const fp = fingerprint(env);
    const params = {};
    for (const [k, v] of Object.entries(env)) if (!NOT_PARAMS.has(k)) params[k] = v;
    if (lane === "server" && env.sessionId !== undefined) params.sessionId = env.sessionId;
    const at = ++clock;
    const common = { lane, commandId: env.id, sessionId, type: env.type, actor: "bench", fingerprint: fp };
    rec({ ...common, phase: "accepted", recordedAt: at, explicitId: true, idempotencyKey: env.idempotencyKey ?? null, idempotencyScope: env.idempotencyKey ? lane : null, dependsOn: null, ifSessionVersion: null, params, timeoutMs: TIMEOUT_MS });
    rec({ ...common, phase: "started", recordedAt: at, detail: null });
    const { outcome, effect } = run(at);
    const f = { ...common, phase: "finished", recordedAt: at, outcome, status: "succeeded", idempotencyExpiresAt: env.idempotencyKey ? at + 86_400_000 : null, detail: null };
    if (effect) f.effect = effect;
    rec(f);
    return { outcome, fp };
  };
  for (let s = 0; s < nSessions; s++) {
    const sid = sessionName(s);
    command({ type: "create_session", id: `create-${sid}`, sessionId: sid }, "server", null, (at) => {
      sessions.set(sid, { state: {}, version: 0 });
      return { outcome: { command: "create_session", success: true, data: { sessionId: sid, sessionInfo: { sessionId: sid, sessionVersion: 0, createdAt: at } } }, effect: { kind: "create", sessionId: sid, state: {}, version: 0 } };
    });
  }
  for (let i = nSessions; i < n; i++) {
    const sid = sessionName(i % nSessions);
    const lane = `session:${sid}`;
    const s = sessions.get(sid);
    const kind = i % 10;
    const id = commandName(i);
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
    if ((i + 1) % 100_000 === 0) log(`  built ${(i + 1).toLocaleString("en-US")} commands (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  flush();
  store.close();
  return { commands: n, sessions: nSessions, rows: seq, t0: start + 1, t1: clock, buildSeconds: (performance.now() - t0) / 1000, generator: GENERATOR, schemaVersion: LATEST_SCHEMA_VERSION };
}
