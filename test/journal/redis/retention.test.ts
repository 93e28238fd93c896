/**
 * #18 retention on the Redis store (journal/redis/compaction.ts): the same records committed to a
 * SQLite journal and to a Redis journal, compacted by the same policy at the same time, give the
 * same CompactionReport and the same journal afterwards (tables, history, getCommand, idempotency,
 * firstRetainedSeq); a store reopened with a fresh projection starts from the Redis checkpoint and
 * sees the same; the read-only open's key audit and the replay audit pass after each compaction;
 * the compaction script refuses to remove what Redis says is not finished.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runAudit } from "../../../src/audit/index.js";
import { BUILTIN_COMMANDS } from "../../../src/commands/builtin/index.js";
import { CommandRegistry } from "../../../src/commands/registry.js";
import { keyspace } from "../../../src/journal/redis/keyspace.js";
import { RedisStore } from "../../../src/journal/redis/redis-store.js";
import { DEFAULT_RETENTION, type RetentionPolicy } from "../../../src/journal/retention.js";
import { SqliteStore } from "../../../src/journal/sqlite-store.js";
import type { JournalRecord, Store } from "../../../src/journal/types.js";
import type { SessionEffect } from "../../../src/lifecycle/status.js";
import { useRedisClient } from "../../helpers/redis-server.js";
import { RecordBuilder, dumpTables, type Partial0 } from "../helpers.js";
import { storeView } from "./store-view.js";

const r = useRedisClient();

const ok = { command: "test", success: true };
const policy = (p: Partial<RetentionPolicy>): RetentionPolicy => ({ ...DEFAULT_RETENTION, batchRows: 4, ...p });

/** A command's records: accepted, started, finished (with a session effect and an idempotency expiry). */
function run(b: RecordBuilder, id: string, sessionId: string | null, opts: { effect?: SessionEffect; key?: string; expiresAt?: number; finish?: boolean } = {}): JournalRecord[] {
  const idem: Partial0 = opts.key ? { idempotencyKey: opts.key, idempotencyScope: sessionId ? `session:${sessionId}` : "server" } : {};
  const out = [b.record("accepted", id, sessionId, { explicitId: true, params: { n: id }, timeoutMs: 1000, ...idem }), b.record("started", id, sessionId, { status: "running", revision: 1 })];
  if (opts.finish === false) return out;
  out.push(finish(b, id, sessionId, opts));
  return out;
}
function finish(b: RecordBuilder, id: string, sessionId: string | null, opts: { effect?: SessionEffect; expiresAt?: number } = {}): JournalRecord {
  return b.record("finished", id, sessionId, {
    status: "succeeded",
    revision: 2,
    outcome: opts.effect && opts.effect.kind !== "delete" ? { ...ok, sessionVersion: opts.effect.version } : ok,
    ...(opts.effect ? { effect: opts.effect } : {}),
    ...(opts.expiresAt !== undefined ? { idempotencyExpiresAt: opts.expiresAt } : {}),
  });
}
const patch = (sessionId: string, version: number, v: unknown): SessionEffect => ({ kind: "patch", sessionId, version, ops: [{ op: "replace", path: "/v", value: v }] });
const create = (sessionId: string, at: number): SessionEffect => ({ kind: "create", sessionId, state: { v: 0 }, version: 1, createdAt: at });

const KEYS: Array<[string, string]> = ["k-live", "k-gone", "k-late"].flatMap((k): Array<[string, string]> => [["session:a", k], ["server", k]]);
const view = (s: Store, db: ReturnType<SqliteStore["database"]>, ids: string[], at: number) => storeView(s, db, ids, at, KEYS);

describe("#18 retention on the Redis store: the same rule, the same result as SQLite", () => {
  let name: string;
  let sqlite: SqliteStore;
  let store: RedisStore;
  const open = (): RedisStore => {
    const s = new RedisStore({ url: r.redis.url(0), name, projectionPath: ":memory:" });
    s.open();
    return s;
  };
  beforeEach(() => {
    name = `ret-${Math.random().toString(36).slice(2)}`;
    sqlite = new SqliteStore({ path: ":memory:", durability: "off" });
    sqlite.open();
    store = open();
  });
  afterEach(() => {
    sqlite.close();
    store.close();
  });

  const both = (records: JournalRecord[]): void => {
    sqlite.commit(records);
    store.commit(records);
  };
  const ids: string[] = [];
  const same = async (at: number): Promise<void> => {
    const expected = view(sqlite, sqlite.database(), ids, at);
    expect(view(store, store.projectionDatabase(), ids, at)).toEqual(expected);
    // a reader with a fresh projection: the Redis checkpoint, then the retained stream
    const ro = new RedisStore({ url: r.redis.url(0), name, readOnly: true, snapshotKeys: true });
    ro.open();
    try {
      expect(view(ro, ro.projectionDatabase(), ids, at)).toEqual(expected);
      expect(ro.auditMaterializedKeys()).toEqual([]);
      const registry = new CommandRegistry();
      for (const d of BUILTIN_COMMANDS) registry.register(d);
      const reads = ro.openAuditReads();
      try {
        expect((await runAudit(reads, null, registry)).violations).toEqual([]);
      } finally {
        reads.close();
      }
    } finally {
      ro.close();
    }
  };
  const compactBoth = async (p: RetentionPolicy, at: number) => {
    const expected = await sqlite.compact(p, () => at);
    const got = await store.compact(p, () => at);
    expect(got).toEqual(expected);
    return got;
  };

  it("#18.19 batches of compaction: same report, tables, history and idempotency as SQLite; a reopened store and a read-only reader agree; audits pass", async () => {
    const b = new RecordBuilder();
    const t0 = b.clock;
    const day = 86_400_000;
    ids.push("c-a", "c-b", "c-c", "p1", "p2", "live", "gone", "u1", "w1", "d-c", "p3", "late", "c-c2", "p4", "after");
    both([...run(b, "c-a", null, { effect: create("a", t0) }), ...run(b, "c-b", null, { effect: create("b", t0) }), ...run(b, "c-c", null, { effect: create("c", t0) })]);
    both(run(b, "p1", "a", { effect: patch("a", 2, 1) }));
    both(run(b, "p2", "a", { effect: patch("a", 3, 2) }));
    both(run(b, "live", "a", { key: "k-live", expiresAt: t0 + 10 * day }));
    both(run(b, "gone", "a", { key: "k-gone", expiresAt: t0 + 1 }));
    both(run(b, "u1", "b", { finish: false })); // unfinished: the cut stays below it
    both(run(b, "w1", "c", { effect: { kind: "write", sessionId: "c", state: { w: 1 }, version: 2 } }));
    both(run(b, "d-c", null, { effect: { kind: "delete", sessionId: "c" } }));
    both(run(b, "p3", "a", { effect: patch("a", 4, 3) }));

    const at = t0 + day;
    const first = await compactBoth(policy({ maxCommands: 2 }), at);
    expect(first).toMatchObject({ cut: 21, batches: 7, removedCommands: 6 }); // 7 commands of 3 rows before u1; "live" keeps its key
    expect(store.firstRetainedSeq()).toBeGreaterThan(1);
    await same(at);

    // the unfinished command finishes; session a and c move on after the cut; a deleted session is created again
    both([finish(b, "u1", "b", { effect: patch("b", 2, "u") })]);
    both(run(b, "late", null, { key: "k-late", expiresAt: at + 5 }));
    both(run(b, "c-c2", null, { effect: create("c", b.clock) }));
    both(run(b, "p4", "a", { effect: patch("a", 5, 4) }));
    // u1 spans more rows than a batch of 4: the first batch takes it whole (#18.29), in SQLite as here
    const second = await compactBoth(policy({ maxCommands: 1 }), at + 10);
    expect(second?.removedCommands).toBeGreaterThan(0);
    await same(at + 10);

    // a restart with a fresh projection: from the checkpoint, then the stream; commits continue
    store.close();
    store = open();
    expect(view(store, store.projectionDatabase(), ids, at + 10)).toEqual(view(sqlite, sqlite.database(), ids, at + 10));
    both(run(b, "after", "a", { effect: patch("a", 6, 5) }));
    // everything finished and no key live: the whole journal goes, and the seq still continues
    expect(await compactBoth(policy({ maxCommands: 0, batchRows: 1000 }), at + 20 * day)).toMatchObject({ checkpointSeq: b.seq });
    expect(Number(await r.client.get(`${keyspace(name).prefix}seq`))).toBe(b.seq);
    expect(await r.client.xlen(keyspace(name).journal)).toBe(0);
    await same(at + 20 * day);
    store.close();
    store = open();
    both(run(b, "next", "b", { effect: patch("b", 3, "n") }));
    ids.push("next");
    await same(at + 20 * day);
  });

  it("#18.20 the compaction script re-checks in Redis: a command Redis holds unfinished is never removed (refused whole, the projection rolled back)", async () => {
    const b = new RecordBuilder();
    ids.length = 0;
    ids.push("x1", "x2", "x3");
    both([...run(b, "x1", null), ...run(b, "x2", null), ...run(b, "x3", null)]);
    // tamper Redis: x1 looks running there
    await r.client.hset(`${keyspace(name).prefix}cmd:x1`, "status", "running");
    const before = dumpTables(store.projectionDatabase());
    await expect(store.compact(policy({ maxCommands: 1, batchRows: 100 }), () => b.clock + 1)).rejects.toThrow(/journal compaction refused at cut 6: record seq 1: command x1 is running, not finished/);
    expect(dumpTables(store.projectionDatabase())).toEqual(before);
    expect(store.firstRetainedSeq()).toBe(1);
    expect(await r.client.xlen(keyspace(name).journal)).toBe(9);
    expect(await r.client.exists(`${keyspace(name).prefix}checkpoint`)).toBe(0);
    // the store still writes (a refusal is not a failure of the journal)
    store.commit(run(b, "x4", null));
    expect(store.stats().failure).toBeNull();
  });
});
