/**
 * The read-only open of a Redis journal, for the offline tools (`causeway audit` and `causeway
 * export --store redis://…`): no lease, nothing created, no write to Redis. It reads the meta hash
 * (a missing journal is refused, not created), takes a snapshot of the materialized keys at one seq
 * (the journal stream's last entry is read before and after the keys: equal, no commit ran in
 * between, since a commit script appends and moves the keys at once), and builds a fresh projection
 * from the journal stream up to exactly that seq. The stream is the truth: the `seq` key is one of
 * the materialized keys the audit checks. docs/redis-store.md, "The read-only open".
 */
import { StoreOpenError, type JournalRecord } from "../types.js";
import type { RedisBridge } from "./bridge.js";
import type { ProjectionBase } from "./checkpoint-base.js";
import { REDIS_ENCODING, type Keyspace } from "./keyspace.js";

/** The materialized keys of a journal as Redis holds them, each hash as field → value. */
export interface RedisKeySnapshot {
  /** the seq of the journal stream's last record, which the keys belong to */
  seq: number;
  /** the `seq` key as Redis holds it */
  seqKey?: string | null;
  /** `cmd:<commandId>` by command id: status, revision, scope, key */
  commands: Map<string, Record<string, string>>;
  /** `idem:<#scope>:<scope>:<key>` by [scope, key]: cmd, exp */
  idempotency: Array<{ scope: string; key: string; fields: Record<string, string> }>;
  /** `sess:<sessionId>` by session id: version, deleted */
  sessions: Map<string, Record<string, string>>;
  /** the `lanes` hash: lane → last lane seq */
  lanes: Record<string, string>;
  /** the retention checkpoint's projection base (null: never compacted), read with the keys */
  base?: ProjectionBase | null;
}

const SNAPSHOT_TRIES = 5;

export function hashOf(flat: unknown): Record<string, string> {
  const list = (flat ?? []) as string[];
  const h: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) h[list[i]!] = list[i + 1]!;
  return h;
}

/** The meta hash of an existing journal; refuses a missing one and a newer encoding. */
export function readExistingMeta(bridge: RedisBridge, ks: Keyspace, where: string): { journalId: string; encoding: number } {
  const h = hashOf(bridge.command("HGETALL", ks.meta));
  if (h.journalId === undefined) throw new StoreOpenError("not_a_journal", `no causeway journal at ${where} (its meta hash ${ks.meta} does not exist)`);
  const encoding = Number(h.encoding);
  if (!(encoding <= REDIS_ENCODING)) {
    throw new StoreOpenError("schema_too_new", `Redis journal ${where} has value encoding ${h.encoding}; this causeway reads up to ${REDIS_ENCODING}`, { encoding: h.encoding });
  }
  return { journalId: h.journalId, encoding };
}

function scanKeys(bridge: RedisBridge, pattern: string): string[] {
  const out: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = bridge.command("SCAN", cursor, "MATCH", pattern, "COUNT", 1000) as [string, string[]];
    out.push(...keys);
    cursor = next;
  } while (cursor !== "0");
  return out;
}

/** `<#scope>:<scope>:<key>` → [scope, key] (the commit script's idemKey). */
function parseIdem(rest: string): { scope: string; key: string } | null {
  const colon = rest.indexOf(":");
  const len = Number(rest.slice(0, colon));
  if (colon < 1 || !Number.isInteger(len)) return null;
  const scope = rest.slice(colon + 1, colon + 1 + len);
  if (rest[colon + 1 + len] !== ":") return null;
  return { scope, key: rest.slice(colon + 2 + len) };
}

function readKeys(bridge: RedisBridge, ks: Keyspace, seq: number, where: string): RedisKeySnapshot {
  const hashes = (kind: string): Map<string, Record<string, string>> => {
    const m = new Map<string, Record<string, string>>();
    const from = ks.prefix.length + kind.length;
    for (const k of scanKeys(bridge, `${ks.prefix}${kind}*`)) m.set(k.slice(from), hashOf(bridge.command("HGETALL", k)));
    return m;
  };
  const idempotency: RedisKeySnapshot["idempotency"] = [];
  for (const [rest, fields] of hashes("idem:")) {
    const parsed = parseIdem(rest);
    if (!parsed) throw new Error(`Redis journal ${where}: key ${ks.prefix}idem:${rest} is not an idempotency key this causeway writes`);
    idempotency.push({ ...parsed, fields });
  }
  return { seq, commands: hashes("cmd:"), idempotency, sessions: hashes("sess:"), lanes: hashOf(bridge.command("HGETALL", ks.lanes)) };
}

/** The retention checkpoint's projection base (checkpoint-base.ts), or null when the journal was never compacted. */
export function readCheckpointBase(bridge: RedisBridge, ks: Keyspace, where: string): ProjectionBase | null {
  const h = hashOf(bridge.command("HGETALL", ks.checkpoint));
  if (h.seq === undefined) return null;
  if (!(Number(h.v) <= REDIS_ENCODING)) throw new StoreOpenError("schema_too_new", `Redis journal ${where}: its checkpoint has encoding ${h.v}`);
  const base = JSON.parse(h.base ?? "null") as ProjectionBase | null;
  if (base?.seq !== Number(h.seq)) throw new Error(`Redis journal ${where}: its checkpoint at seq ${h.seq} holds no projection base for that seq`);
  return base;
}

/** The seq of the journal stream's last record; when compaction removed every record, the checkpoint's (0: an empty journal). */
export function lastStreamSeq(bridge: RedisBridge, ks: Keyspace): number {
  const last = bridge.command("XREVRANGE", ks.journal, "+", "-", "COUNT", 1) as Array<[string, string[]]>;
  if (last.length > 0) return Number(last[0]![0].split("-")[0]);
  return Number((bridge.command("HGET", ks.checkpoint, "seq") as string | null) ?? 0);
}

/** Where the journal is: its last record and its checkpoint (a commit moves the one, a compaction the other). */
function position(bridge: RedisBridge, ks: Keyspace): string {
  return `${lastStreamSeq(bridge, ks)}/${(bridge.command("HGET", ks.checkpoint, "seq") as string | null) ?? 0}`;
}

/** The materialized keys (and the checkpoint base) at one seq; throws when the journal kept moving (a node is writing). */
export function snapshotKeys(bridge: RedisBridge, ks: Keyspace, where: string): RedisKeySnapshot {
  for (let i = 0; i < SNAPSHOT_TRIES; i++) {
    const before = position(bridge, ks);
    const seq = lastStreamSeq(bridge, ks);
    const snap = readKeys(bridge, ks, seq, where);
    const base = readCheckpointBase(bridge, ks, where);
    if (position(bridge, ks) === before) return { ...snap, base, seqKey: bridge.command("GET", ks.seq) as string | null };
  }
  throw new Error(`the Redis journal ${where} kept changing while its keys were read (${SNAPSHOT_TRIES} tries): audit it while no node writes`);
}

/** Records with seq > afterSeq and ≤ toSeq from the journal stream, at most `count`. */
export function readStreamPage(bridge: RedisBridge, ks: Keyspace, where: string, afterSeq: number, count: number, toSeq?: number): JournalRecord[] {
  const entries = bridge.command("XRANGE", ks.journal, `${afterSeq + 1}-0`, toSeq === undefined ? "+" : `${toSeq}-0`, "COUNT", count) as Array<[string, string[]]>;
  return entries.map(([id, fields]) => {
    const f = hashOf(fields);
    if (!(Number(f.v) <= REDIS_ENCODING)) throw new StoreOpenError("schema_too_new", `Redis journal ${where}: record ${id} has encoding ${f.v}`);
    return JSON.parse(f.r!) as JournalRecord;
  });
}
