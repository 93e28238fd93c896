/**
 * #18 the Redis store's read-only open (the offline tools'): beside a live writer that holds the
 * lease it opens anyway, sees exactly the journal up to one seq, writes nothing to Redis (no lease,
 * no meta) and refuses every commit; a db without a journal is refused, not created; its key
 * snapshot is audited against the journal (redis_materialized_keys).
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { keyspace } from "../../../src/journal/redis/keyspace.js";
import { RedisStore } from "../../../src/journal/redis/redis-store.js";
import { JournalWriteError, StoreOpenError, type JournalRecord } from "../../../src/journal/types.js";
import { useRedisClient } from "../../helpers/redis-server.js";
import { RecordBuilder } from "../helpers.js";

const { redis, client } = useRedisClient();

const ok = { command: "test", success: true };
const life = (b: RecordBuilder, id: string): JournalRecord[] => [
  b.record("accepted", id, "s", { explicitId: true, params: { id }, timeoutMs: 1000, idempotencyKey: `k-${id}`, idempotencyScope: "session:s" }),
  b.record("started", id, "s", { status: "running", revision: 1 }),
  b.record("finished", id, "s", { status: "succeeded", revision: 2, outcome: ok, idempotencyExpiresAt: 1_800_000_000_000 }),
];

describe("#18 RedisStore read-only open", () => {
  it("opens beside the lease holder, sees its journal, writes nothing, refuses commits; its keys audit clean", async () => {
    const name = `ro-${process.pid}`;
    const writer = new RedisStore({ url: redis.url(), name });
    writer.open();
    const b = new RecordBuilder();
    try {
      writer.commit(life(b, "c1"));
      writer.commit(life(b, "c2"));
      const ks = keyspace(name);
      const dump = async (): Promise<Record<string, unknown>> => {
        const out: Record<string, unknown> = {};
        for (const k of (await client.keys(`${ks.prefix}*`)).sort()) out[k] = (await client.type(k)) === "hash" ? await client.hgetall(k) : await client.type(k);
        return out;
      };
      const before = await dump();
      const ro = new RedisStore({ url: redis.url(), name, readOnly: true, snapshotKeys: true });
      ro.open();
      try {
        expect(ro.readJournal({ afterSeq: 0, limit: 100 }).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
        expect(ro.getCommand("c2")?.status).toBe("succeeded");
        expect(ro.auditMaterializedKeys()).toEqual([]);
        const err = (() => {
          try {
            ro.commit(life(new RecordBuilder({ seq: 6, lanes: [{ lane: "session:s", laneSeq: 6 }] }), "c3"));
          } catch (e) {
            return e;
          }
        })();
        expect(err).toBeInstanceOf(JournalWriteError);
        expect((err as Error).message).toContain("read-only");
      } finally {
        ro.close();
      }
      // the writer still holds its lease and goes on; nothing changed in Redis
      expect(await dump()).toEqual(before);
      writer.commit(life(b, "c3"));
      // a key that disagrees with the journal is named
      await client.hset(`${ks.prefix}cmd:c1`, "revision", "7");
      const again = new RedisStore({ url: redis.url(), name, readOnly: true, snapshotKeys: true });
      again.open();
      try {
        expect(again.readJournal({ afterSeq: 0, limit: 100 })).toHaveLength(9);
        expect(again.auditMaterializedKeys()).toEqual([expect.objectContaining({ key: `${ks.prefix}cmd:c1`, commandId: "c1" })]);
      } finally {
        again.close();
      }
    } finally {
      writer.close();
    }
  });

  it("a db without a journal is refused not_a_journal and stays empty", async () => {
    const ro = new RedisStore({ url: redis.url(3), readOnly: true });
    expect(() => ro.open()).toThrow(StoreOpenError);
    const c3 = new Redis(redis.url(3));
    expect(await c3.dbsize()).toBe(0);
    c3.disconnect();
  });
});
