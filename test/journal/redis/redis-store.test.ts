/**
 * #18 the Redis store against a real redis-server: acknowledged batches survive kill -9 of the
 * server; the single-writer lease (a live holder refuses, an expired one is taken over and the old
 * writer is fenced off); a stopped server makes a commit fail closed within the bridge timeout
 * instead of hanging; a projection that disagrees with Redis fails the store closed, and a stale
 * projection file is rebuilt from the Redis journal.
 */
import { Redis } from "ioredis";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RedisStore, type RedisStoreOptions } from "../../../src/journal/redis/redis-store.js";
import { JournalWriteError, StoreOpenError, type JournalRecord, type StoreLog } from "../../../src/journal/types.js";
import { useRedisClient } from "../../helpers/redis-server.js";
import { RecordBuilder, tempDir } from "../helpers.js";

const { redis, client } = useRedisClient();

const opened: RedisStore[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});
let journals = 0;
const fresh = (): string => `store-test-${process.pid}-${journals++}`;
function store(name: string, extra: Partial<RedisStoreOptions> = {}): RedisStore {
  const s = new RedisStore({ url: redis.url(), name, ...extra });
  opened.push(s);
  return s;
}
const ok = { command: "test", success: true };
/** accepted + started + finished of a new command */
const life = (b: RecordBuilder, id: string): JournalRecord[] => [
  b.record("accepted", id, "s", { explicitId: true, params: { id }, timeoutMs: 1000 }),
  b.record("started", id, "s", { status: "running", revision: 1 }),
  b.record("finished", id, "s", { status: "succeeded", revision: 2, outcome: ok }),
];
const thrown = (f: () => void): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
};
/** Resolves once `key` no longer exists (its PX expiry passed): waits on Redis, not on a fixed time. */
async function gone(key: string): Promise<void> {
  while ((await client.exists(key)) === 1) await new Promise((r) => setTimeout(r, 20));
}
const logs = (): StoreLog & { warns: string[]; errors: string[] } => {
  const warns: string[] = [];
  const errors: string[] = [];
  return { warns, errors, warn: (_o, m) => void warns.push(m), error: (_o, m) => void errors.push(m) };
};

describe("#18 Redis store: kill -9 of redis-server", () => {
  it("#18 every acknowledged batch is there after kill -9 + restart of redis-server, in the same store and a reopened one", async () => {
    const name = fresh();
    const b = new RecordBuilder();
    const s = store(name);
    s.open();
    const committed: JournalRecord[] = [];
    for (let round = 0; round < 4; round++) {
      const batch = [...life(b, `k${round}a`), ...life(b, `k${round}b`)];
      s.commit(batch);
      committed.push(...batch);
      await redis.restart(); // SIGKILL: what survives is what the AOF fsynced before the reply
    }
    const last = life(b, "after"); // the same store goes on after the restarts (ioredis reconnects)
    s.commit(last);
    committed.push(...last);
    s.close();
    const again = store(name);
    const rec = again.open();
    expect(rec.lastSeq).toBe(committed.length);
    expect(again.readJournal({ limit: 1000 }).map((r) => [r.seq, r.commandId, r.phase])).toEqual(committed.map((r) => [r.seq, r.commandId, r.phase]));
    for (const id of ["k0a", "k3b", "after"]) expect(again.getCommand(id)).toMatchObject({ status: "succeeded", revision: 2, outcome: ok });
  });
});

describe("#18 Redis store: the single-writer lease", () => {
  it("#18 a second store on the same journal is refused journal_locked; after a clean close it opens", () => {
    const name = fresh();
    const first = store(name);
    first.open();
    const err = thrown(() => store(name).open());
    expect(err).toBeInstanceOf(StoreOpenError);
    expect(err).toMatchObject({ code: "journal_locked", message: expect.stringMatching(new RegExp(`locked by pid ${process.pid}`)) });
    first.close();
    expect(store(name).open().staleLeaseTakenOver).toBeUndefined();
  });

  it("#18 a live lease whose holder is a dead process of this host is taken over at once (a kill -9), and takeOverLease forces it", async () => {
    const name = fresh();
    const first = store(name);
    first.open();
    first.commit(life(new RecordBuilder(), "one"));
    const holder = `cw:{${name}}:lease:journal:holder`;
    // make the live lease look like a crashed process's: a pid of this host that no longer runs
    const { spawnSync } = await import("node:child_process");
    const deadPid = spawnSync(process.execPath, ["-e", "process.pid"]).pid!;
    await client.hset(holder, "pid", String(deadPid));
    first.stopLeaseRenewalForTest();
    const next = store(name);
    expect(next.open().staleLeaseTakenOver).toMatchObject({ pid: deadPid });
    expect(thrown(() => first.commit(life(new RecordBuilder(), "stale")))).toBeInstanceOf(JournalWriteError);
    // a live holder (this process, another store) refuses, unless takeOverLease
    expect(thrown(() => store(name).open())).toMatchObject({ code: "journal_locked" });
    const forced = store(name, { takeOverLease: true });
    expect(forced.open().staleLeaseTakenOver).toMatchObject({ pid: process.pid });
    expect(forced.getCommand("one")).toMatchObject({ status: "succeeded" });
  });

  it("#18 a store whose lease expired (renewals stopped) is fenced off: the next writer takes over, its commits are refused and it fails closed", async () => {
    const name = fresh();
    const log = logs();
    const a = store(name, { leaseTtlMs: 300, log });
    a.open();
    const b = new RecordBuilder();
    a.commit(life(b, "before"));
    a.stopLeaseRenewalForTest(); // as a paused process would
    await gone(`cw:{${name}}:lease:journal`);
    const next = store(name);
    expect(next.open().staleLeaseTakenOver).toMatchObject({ pid: process.pid });
    const batch = life(b, "late");
    const err = thrown(() => a.commit(batch));
    expect(err).toBeInstanceOf(JournalWriteError);
    expect((err as Error).message).toMatch(/lease is no longer ours/);
    expect(a.stats().failure).toMatch(/lease/);
    expect(log.errors.join("\n")).toMatch(/journal unavailable/);
    // the new writer goes on from what was committed; the fenced store wrote nothing
    b.rewind(batch);
    next.commit(life(b, "taken-over"));
    expect(next.getCommand("late")).toBeUndefined();
    expect(next.getCommand("taken-over")).toMatchObject({ status: "succeeded" });
    expect(thrown(() => a.commit([]))).toBeInstanceOf(JournalWriteError);
  });
});

describe("#18 Redis store: failing closed", () => {
  it("#18 a stopped redis-server (SIGSTOP): commit throws JournalWriteError at the bridge timeout and the store fails closed, never hangs", () => {
    const s = store(fresh(), { timeoutMs: 400 });
    s.open();
    const b = new RecordBuilder();
    s.commit(life(b, "one"));
    process.kill(redis.pid(), "SIGSTOP");
    try {
      const err = thrown(() => s.commit(life(b, "two")));
      expect(err).toBeInstanceOf(JournalWriteError);
      expect((err as Error).message).toMatch(/no answer within 400 ms/);
      expect(s.stats()).toMatchObject({ failure: expect.stringMatching(/no answer within 400 ms/), commits: 1 });
      // every later commit fails at once (the bridge is dead; no second wait)
      expect(thrown(() => s.commit(life(b, "three")))).toBeInstanceOf(JournalWriteError);
    } finally {
      process.kill(redis.pid(), "SIGCONT");
    }
  });

  it("#18 an error Redis replies with (OOM) fails that commit only: nothing was written, the store stays up", async () => {
    const s = store(fresh());
    s.open();
    const b = new RecordBuilder();
    s.commit(life(b, "first"));
    await client.config("SET", "maxmemory", "1");
    const oom = life(b, "oom");
    let err: unknown;
    try {
      err = thrown(() => s.commit(oom));
    } finally {
      await client.config("SET", "maxmemory", "0");
    }
    expect(err).toBeInstanceOf(JournalWriteError);
    expect((err as Error).message).toMatch(/OOM/);
    expect(s.stats()).toMatchObject({ failure: null, commits: 1, commitFailures: 1 });
    b.rewind(oom);
    s.commit(life(b, "after"));
    expect(s.getCommand("oom")).toBeUndefined();
    expect(s.readJournal({ limit: 10 }).map((r) => r.commandId)).toEqual(["first", "first", "first", "after", "after", "after"]);
  });

  it("#18 divergence: a batch Redis accepts but the projection refuses fails the store closed", async () => {
    const name = fresh();
    const s = store(name);
    s.open();
    const b = new RecordBuilder();
    s.commit(life(b, "twice"));
    // Redis forgets the command (tampered with): it would admit the id again, the projection cannot
    await client.del(`cw:{${name}}:cmd:twice`);
    const err = thrown(() => s.commit([b.record("accepted", "twice", "s", { explicitId: true })]));
    expect(err).toBeInstanceOf(JournalWriteError);
    expect(s.stats().failure).toMatch(/the projection refused a batch the Redis journal accepted/);
  });
});

describe("#18 Redis store: stats", () => {
  it("#18 stats name the Redis URL without its password, kind redis", () => {
    const s = new RedisStore({ url: "redis://user:secret@127.0.0.1:6390/2" });
    expect(s.stats()).toMatchObject({ kind: "redis", path: "redis://127.0.0.1:6390/2", failure: null });
  });
});

describe("#18 Redis store: the projection", () => {
  it("#18 a projection file is reused when it belongs to the journal, rebuilt when Redis was flushed or is behind it", async () => {
    const tmp = tempDir("causeway-projection-");
    try {
      const name = fresh();
      const projectionPath = join(tmp.dir, "projection.db");
      const log = logs();
      const b = new RecordBuilder();
      const first = store(name, { projectionPath, log });
      first.open();
      first.commit(life(b, "p1"));
      first.close();
      const reused = store(name, { projectionPath, log });
      expect(reused.open().lastSeq).toBe(3);
      reused.commit(life(b, "p2"));
      reused.close();
      expect(log.warns).toEqual([]);
      // the journal's data is gone but its meta kept: the projection is ahead of Redis
      for (const k of await client.keys(`cw:{${name}}:*`)) if (!k.endsWith(":meta")) await client.del(k);
      const behind = store(name, { projectionPath, log });
      expect(behind.open().lastSeq).toBe(0);
      expect(behind.getCommand("p1")).toBeUndefined();
      expect(log.warns.join("\n")).toMatch(/ahead of the Redis journal \(seq 6 > 0/);
      behind.commit(life(new RecordBuilder(), "p3"));
      behind.close();
      // FLUSHDB: a new journal (new journalId): the file is another journal's
      await client.flushdb();
      const flushed = store(name, { projectionPath, log });
      expect(flushed.open().lastSeq).toBe(0);
      expect(flushed.getCommand("p3")).toBeUndefined();
      expect(log.warns.join("\n")).toMatch(/belongs to journal [0-9a-f-]+, not [0-9a-f-]+: rebuilding/);
      flushed.close();
      // a path naming the journal's id: a new journal (after a flush) never meets another journal's file
      const named = store(name, { projectionPath: join(tmp.dir, "projection-{journalId}.db") });
      named.open();
      expect(existsSync(join(tmp.dir, `projection-${named.journalId}.db`))).toBe(true);
    } finally {
      for (const s of opened.splice(0)) s.close();
      tmp.cleanup();
    }
  });
});
