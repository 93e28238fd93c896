/**
 * The audit of a Redis journal's own materialized keys (the audit's invariant
 * `redis_materialized_keys`, named and reported by src/audit; the CLI wires this finder to it): the
 * commit script keeps `cmd:<id>` (status, revision, idempotency scope and key), `idem:…` (holder,
 * expiry), `sess:<id>` (version, deleted), the `lanes` heads and `seq` beside the journal stream, and
 * refuses the next batch on what they say. The projection's tables are derived from the same
 * records (and the replay audit checks them against the journal), so every key is compared with
 * them, both ways: a key that differs, a key the journal does not imply, and a missing key.
 */
import type Database from "better-sqlite3";
import { lastJournalSeq } from "../recover.js";
import type { RedisKeySnapshot } from "./read-only.js";

export interface RedisKeyViolation {
  /** the Redis key that differs (or is missing) */
  key: string;
  commandId?: string;
  sessionId?: string;
  message: string;
  evidence: { redis: unknown; journal: unknown };
}

type Fields = Record<string, string | null>;

/** One materialized entity as Redis holds it and as the journal implies it (null: absent). */
interface Pair {
  key: string;
  what: string;
  redis: Fields | null;
  journal: Fields | null;
  ids?: { commandId?: string; sessionId?: string };
}

function compare(pairs: Iterable<Pair>, out: RedisKeyViolation[]): void {
  for (const p of pairs) {
    const redis = p.redis;
    const journal = p.journal;
    let message: string | null = null;
    if (redis === null) message = `${p.what}: the journal implies ${JSON.stringify(journal)}, Redis has no key ${p.key}`;
    else if (journal === null) message = `${p.what}: Redis key ${p.key} holds ${JSON.stringify(redis)}, the journal implies nothing`;
    else {
      const diff = Object.keys(journal).filter((f) => (redis[f] ?? null) !== journal[f]);
      if (diff.length > 0) message = `${p.what}: Redis key ${p.key} has ${diff.map((f) => `${f} ${JSON.stringify(redis[f] ?? null)}`).join(", ")}; the journal implies ${diff.map((f) => `${f} ${JSON.stringify(journal[f])}`).join(", ")}`;
    }
    if (message !== null) out.push({ key: p.key, ...p.ids, message, evidence: { redis, journal } });
  }
}

const str = (v: number | string | null): string | null => (v === null ? null : String(v));

function* commandPairs(snap: RedisKeySnapshot, db: Database.Database, prefix: string): Generator<Pair> {
  const rows = db.prepare("SELECT command_id, status, revision, idempotency_scope, idempotency_key FROM commands").all() as Array<{ command_id: string; status: string; revision: number; idempotency_scope: string | null; idempotency_key: string | null }>;
  const seen = new Set<string>();
  for (const r of rows) {
    seen.add(r.command_id);
    const h = snap.commands.get(r.command_id);
    const journal = { status: r.status, revision: str(r.revision), scope: r.idempotency_key === null ? null : r.idempotency_scope, key: r.idempotency_key };
    yield { key: `${prefix}cmd:${r.command_id}`, what: `command ${r.command_id}`, redis: h ?? null, journal, ids: { commandId: r.command_id } };
  }
  for (const [id, h] of snap.commands) if (!seen.has(id)) yield { key: `${prefix}cmd:${id}`, what: `command ${id}`, redis: h, journal: null, ids: { commandId: id } };
}

function* idempotencyPairs(snap: RedisKeySnapshot, db: Database.Database, prefix: string): Generator<Pair> {
  const rows = db.prepare("SELECT scope, key, command_id, expires_at FROM idempotency").all() as Array<{ scope: string; key: string; command_id: string; expires_at: number | null }>;
  const redis = new Map(snap.idempotency.map((e) => [JSON.stringify([e.scope, e.key]), e.fields]));
  const name = (scope: string, key: string): string => `${prefix}idem:${scope.length}:${scope}:${key}`;
  for (const r of rows) {
    const id = JSON.stringify([r.scope, r.key]);
    const h = redis.get(id);
    redis.delete(id);
    // a key held without an expiry is "" in Redis, NULL in the table
    const redisFields = h ? { cmd: h.cmd ?? null, exp: h.exp === "" ? null : (h.exp ?? null) } : null;
    yield { key: name(r.scope, r.key), what: `idempotency key (${r.scope}, ${r.key})`, redis: redisFields, journal: { cmd: r.command_id, exp: str(r.expires_at) }, ids: { commandId: r.command_id } };
  }
  for (const [id, h] of redis) {
    const [scope, key] = JSON.parse(id) as [string, string];
    yield { key: name(scope, key), what: `idempotency key (${scope}, ${key})`, redis: h, journal: null };
  }
}

function* sessionPairs(snap: RedisKeySnapshot, db: Database.Database, prefix: string): Generator<Pair> {
  const rows = db.prepare("SELECT session_id, version, deleted_at FROM sessions").all() as Array<{ session_id: string; version: number; deleted_at: number | null }>;
  const seen = new Set<string>();
  for (const r of rows) {
    seen.add(r.session_id);
    const journal = { version: str(r.version), deleted: r.deleted_at === null ? "0" : "1" };
    yield { key: `${prefix}sess:${r.session_id}`, what: `session ${r.session_id}`, redis: snap.sessions.get(r.session_id) ?? null, journal, ids: { sessionId: r.session_id } };
  }
  for (const [id, h] of snap.sessions) if (!seen.has(id)) yield { key: `${prefix}sess:${id}`, what: `session ${id}`, redis: h, journal: null, ids: { sessionId: id } };
}

function* lanePairs(snap: RedisKeySnapshot, db: Database.Database, prefix: string): Generator<Pair> {
  const rows = db.prepare("SELECT lane, last_lane_seq FROM lanes").all() as Array<{ lane: string; last_lane_seq: number }>;
  const lanes = new Map(Object.entries(snap.lanes));
  for (const r of rows) {
    const head = lanes.get(r.lane);
    lanes.delete(r.lane);
    yield { key: `${prefix}lanes`, what: `lane ${r.lane}`, redis: head === undefined ? null : { head }, journal: { head: str(r.last_lane_seq) } };
  }
  for (const [lane, head] of lanes) yield { key: `${prefix}lanes`, what: `lane ${lane}`, redis: { head }, journal: null };
}

/** Every difference between Redis's keys (at snap.seq) and the projection's tables (built up to the same seq). */
export function auditRedisKeys(snap: RedisKeySnapshot, db: Database.Database, prefix: string): RedisKeyViolation[] {
  const out: RedisKeyViolation[] = [];
  const last = lastJournalSeq(db);
  // the commit script reads a missing seq key as 0: a journal with nothing committed has none
  const seqKey = snap.seqKey === null && last === 0 ? "0" : snap.seqKey;
  compare([{ key: `${prefix}seq`, what: "the journal's seq", redis: seqKey === null ? null : { seq: seqKey ?? str(snap.seq) }, journal: { seq: str(last) } }], out);
  compare(commandPairs(snap, db, prefix), out);
  compare(idempotencyPairs(snap, db, prefix), out);
  compare(sessionPairs(snap, db, prefix), out);
  compare(lanePairs(snap, db, prefix), out);
  return out;
}
