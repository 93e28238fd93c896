/**
 * #16 the Store contract (src/journal/types.ts: JournalWriter + JournalQueries), written against
 * the interfaces only: a provider is a factory of `Store`s, and every test here must hold for
 * every provider: SQLite (a journal file, and `:memory:`) and Redis (#18, a real redis-server).
 */
import { basename, join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { HistoryCursorError } from "../../src/journal/queries.js";
import { DEFAULT_RETENTION } from "../../src/journal/retention.js";
import { RedisStore } from "../../src/journal/redis/redis-store.js";
import { SqliteStore } from "../../src/journal/sqlite-store.js";
import { JournalWriteError, type JournalRecord, type Store } from "../../src/journal/types.js";
import type { Outcome } from "../../src/protocol/types.js";
import { startRedis, type TestRedis } from "../helpers/redis-server.js";
import { RecordBuilder, tempDir, type Partial0 } from "./helpers.js";

interface Provider {
  name: string;
  /** a new, empty journal; `durable`: one reopened by a new store of the same factory keeps it */
  durable: boolean;
  make(dir: string): Store;
}

// #18 one real redis-server for the file; each test's journal has a key prefix of its own (the temp
// dir's name), and every store made for it has a fresh :memory: projection: a reopened store sees
// the journal only through Redis (the projection's catch-up)
let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const PROVIDERS: Provider[] = [
  { name: "sqlite file", durable: true, make: (dir) => new SqliteStore({ path: join(dir, "contract.db"), durability: "off" }) },
  // #17 the derived tables as a projection flushed later than the journal (projection.ts): the same contract
  { name: "sqlite file, deferred projection", durable: true, make: (dir) => new SqliteStore({ path: join(dir, "contract.db"), durability: "off", projectionFlushMs: 60_000 }) },
  { name: "sqlite :memory:", durable: false, make: () => new SqliteStore({ path: ":memory:", durability: "off" }) },
  { name: "redis", durable: true, make: (dir) => new RedisStore({ url: redis.url(), name: basename(dir), projectionPath: ":memory:" }) },
];

const ok = (command: string, sessionVersion?: number): Outcome => ({ command, success: true, ...(sessionVersion !== undefined ? { sessionVersion } : {}) });

describe.each(PROVIDERS)("#16 Store contract: $name", (provider) => {
  let tmp: { dir: string; cleanup: () => void };
  let store: Store;
  let b: RecordBuilder;
  const opened: Store[] = [];

  const open = (): Store => {
    const s = provider.make(tmp.dir);
    opened.push(s);
    s.open();
    return s;
  };
  const accepted = (id: string, sessionId: string | null, extra: Partial0 = {}): JournalRecord =>
    b.record("accepted", id, sessionId, { explicitId: true, params: { n: id }, timeoutMs: 1000, ...extra });
  /** started + finished (succeeded) of a command accepted at revision 0 */
  const run = (id: string, sessionId: string | null, extra: Partial0 = {}): JournalRecord[] => [
    b.record("started", id, sessionId, { status: "running", revision: 1 }),
    b.record("finished", id, sessionId, { status: "succeeded", revision: 2, outcome: ok("test"), ...extra }),
  ];
  /** commit, expecting a refusal; the numbering of the refused records (as built: `built`) is taken back */
  const refused = (records: JournalRecord[], why: RegExp, built: JournalRecord[] = records): void => {
    let err: unknown;
    try {
      store.commit(records);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JournalWriteError);
    expect((err as Error).message).toMatch(why);
    b.rewind(built);
  };

  beforeEach(() => {
    tmp = tempDir("causeway-contract-");
    b = new RecordBuilder();
    store = open();
  });
  afterEach(() => {
    for (const s of opened.splice(0)) s.close();
    tmp.cleanup();
  });

  it("#16 append: seq and laneSeq continue gap-free; a batch with a gap is refused whole", () => {
    store.commit([accepted("a", "s"), accepted("b", null), accepted("c", "s")]);
    expect(store.readJournal({ limit: 10 }).map((r) => [r.seq, r.lane, r.laneSeq])).toEqual([
      [1, "session:s", 1],
      [2, "server", 1],
      [3, "session:s", 2],
    ]);
    // a global gap (seq 5 after 3), then a lane gap (lane_seq 4 after 2): nothing of either batch lands
    const d = accepted("d", "s");
    const e = accepted("e", "s");
    refused([d, { ...e, seq: e.seq + 1 }], /seq must be gap-free: got 6, expected 5/, [d, e]);
    const f = accepted("f", "s");
    refused([{ ...f, laneSeq: f.laneSeq + 6 }], /lane_seq must be gap-free in lane session:s: got 9, expected 3/, [f]);
    expect(store.readJournal({ limit: 10 }).map((r) => r.commandId)).toEqual(["a", "b", "c"]);
    expect(store.getCommand("d")).toBeUndefined();
    // the next batch continues where the last committed one stopped
    store.commit([accepted("g", "s")]);
    expect(store.readJournal({ afterSeq: 3, limit: 10 }).map((r) => [r.seq, r.laneSeq, r.commandId])).toEqual([[4, 3, "g"]]);
    expect(store.stats()).toMatchObject({ commits: 2, recordsWritten: 4, failure: null });
  });

  it("#16 transitions: each status change is a compare-and-swap on the revision through the transition table", () => {
    store.commit([accepted("t", "s")]);
    expect(store.getCommand("t")).toMatchObject({ status: "queued", revision: 0 });
    store.commit([b.record("started", "t", "s", { status: "running", revision: 1 })]);
    expect(store.getCommand("t")).toMatchObject({ status: "running", revision: 1 });
    // a stale revision, and a target the current status may not move to, are refused
    refused([b.record("requeued", "t", "s", { status: "queued", revision: 1 })], /command t is running at revision 1/);
    refused([b.record("pending", "t", "s", { status: "pending", revision: 2, detail: { reason: "schedule" } })], /running → pending/);
    expect(store.getCommand("t")).toMatchObject({ status: "running", revision: 1 });
    store.commit([b.record("finished", "t", "s", { status: "succeeded", revision: 2, outcome: ok("test") })]);
    expect(store.getCommand("t")).toMatchObject({ status: "succeeded", revision: 2, outcome: ok("test") });
    // a terminal outcome is written once
    refused([b.record("finished", "t", "s", { status: "failed", revision: 3, outcome: ok("test") })], /already has a terminal outcome/);
    // a row without a revision (a trace from before schema 5) applies as the next revision
    store.commit([accepted("legacy", "s"), b.record("started", "legacy", "s")]);
    expect(store.getCommand("legacy")).toMatchObject({ status: "running", revision: 1 });
  });

  it("#16 idempotency lookup: a key is held by its command until its entry expires", () => {
    const at = b.clock + 1;
    store.commit([accepted("k1", "s", { recordedAt: at, idempotencyKey: "key", idempotencyScope: "session:s", fingerprint: "fp-1" })]);
    expect(store.getIdempotency("session:s", "key", at)).toEqual({ commandId: "k1", fingerprint: "fp-1" });
    expect(store.getIdempotency("server", "key", at)).toBeUndefined();
    // held while unfinished: a second claim is refused
    refused([accepted("k2", "s", { idempotencyKey: "key", idempotencyScope: "session:s" })], /idempotency key \(session:s, key\) is still held/);
    const expiresAt = at + 1_000;
    store.commit(run("k1", "s", { idempotencyExpiresAt: expiresAt }));
    expect(store.getIdempotency("session:s", "key", expiresAt - 1)?.commandId).toBe("k1");
    expect(store.getIdempotency("session:s", "key", expiresAt)).toBeUndefined();
    // once expired, another command may claim it
    store.commit([accepted("k3", "s", { recordedAt: expiresAt, idempotencyKey: "key", idempotencyScope: "session:s", fingerprint: "fp-3" })]);
    expect(store.getIdempotency("session:s", "key", expiresAt)).toEqual({ commandId: "k3", fingerprint: "fp-3" });
  });

  it("#16 history page: commands in accepted order, filtered, paged by a stable cursor; entries are their journal rows", () => {
    store.commit([accepted("h1", "a"), accepted("h2", "b"), accepted("h3", "a"), accepted("h4", "a")]);
    store.commit(run("h1", "a"));
    const first = store.history({ sessionId: "a", order: "oldest", limit: 2 });
    expect(first.items.map((i) => [i.commandId, i.status])).toEqual([
      ["h1", "succeeded"],
      ["h3", "queued"],
    ]);
    expect(first.nextCursor).toBeDefined();
    // a command accepted after the first page comes after the cursor, once
    store.commit([accepted("h5", "a")]);
    const second = store.history({ sessionId: "a", order: "oldest", limit: 2, cursor: first.nextCursor! });
    expect(second.items.map((i) => i.commandId)).toEqual(["h4", "h5"]);
    expect(store.history({ order: "newest", limit: 10 }).items.map((i) => i.commandId)).toEqual(["h5", "h4", "h3", "h2", "h1"]);
    expect(() => store.history({ sessionId: "b", order: "oldest", limit: 2, cursor: first.nextCursor! })).toThrow(HistoryCursorError);
    const { entries, more } = store.historyEntries({ commandIds: ["h1"], order: "oldest", limit: 10 });
    expect(more).toBe(false);
    expect(entries.map((e) => [e.commandId, e.phase, e.laneSequence])).toEqual([
      ["h1", "command_accepted", 1],
      ["h1", "command_started", 4],
      ["h1", "command_finished", 5],
    ]);
  });

  it("#16 command detail: row, envelope, outcome, trace, dependencies and dependents", () => {
    store.commit([accepted("base", "s"), accepted("next", "s", { dependsOn: ["base", "ghost"], ifSessionVersion: 3 })]);
    store.commit(run("base", "s"));
    const d = store.commandDetail("base", { maxRows: 10 })!;
    expect(d.command).toMatchObject({ commandId: "base", status: "succeeded", laneKey: "session:s", envelope: { type: "test", id: "base", sessionId: "s", n: "base" }, outcome: ok("test") });
    expect(d.trace.map((t) => t.phase)).toEqual(["accepted", "started", "finished"]);
    expect(d.dependents).toEqual([{ commandId: "next", status: "queued" }]);
    expect(d.governance).toMatchObject({ revision: 2, decisions: [] });
    const next = store.commandDetail("next", { maxRows: 1 })!;
    expect(next.command.envelope).toMatchObject({ dependsOn: ["base", "ghost"], ifSessionVersion: 3 });
    expect(next.dependencies).toEqual([
      { commandId: "base", status: "succeeded", outcome: ok("test") },
      { commandId: "ghost", status: "unknown" },
    ]);
    expect(store.commandDetail("nope", { maxRows: 10 })).toBeUndefined();
  });

  it("#16 catch-up reads: journal pages in seq order (after, to, session) and the causal fields of a command", () => {
    store.commit([accepted("c1", "x", { idempotencyKey: "ck", idempotencyScope: "session:x" }), accepted("c2", "y"), accepted("c3", "x", { dependsOn: ["c1"], ifSessionVersion: 2 })]);
    store.commit(run("c1", "x"));
    expect(store.readJournal({ afterSeq: 1, toSeq: 4, limit: 10 }).map((r) => [r.seq, r.commandId, r.phase])).toEqual([
      [2, "c2", "accepted"],
      [3, "c3", "accepted"],
      [4, "c1", "started"],
    ]);
    expect(store.readJournal({ sessionId: "x", limit: 2 }).map((r) => r.seq)).toEqual([1, 3]);
    const finished = store.readJournal({ afterSeq: 4, limit: 10 })[0]!;
    expect(finished).toMatchObject({ seq: 5, phase: "finished", status: "succeeded", revision: 2, outcome: ok("test") });
    expect(store.causalFields("c1")).toEqual({ dependsOn: [], ifSessionVersion: undefined, idempotencyKey: "ck" });
    expect(store.causalFields("c3")).toEqual({ dependsOn: ["c1"], ifSessionVersion: 2, idempotencyKey: null });
    expect(store.causalFields("nope")).toBeUndefined();
    expect(store.firstRetainedSeq()).toBe(1);
  });

  it("#16 the audit's reads see what was committed", () => {
    store.commit([accepted("r1", "s"), accepted("r2", null)]);
    store.commit(run("r1", "s"));
    const reads = store.openAuditReads();
    try {
      expect(reads.bounds()).toEqual({ firstSeq: 1, lastSeq: 4 });
      expect(reads.latestCheckpoint()).toBeNull();
      expect(reads.readPage({ afterSeq: 0, toSeq: 4, limit: 10, sessionId: "s" }).map((r) => r.seq)).toEqual([1, 2, 3, 4]);
      expect(reads.commandRow("r1")).toMatchObject({ command_id: "r1", status: "succeeded", accepted_seq: 1, finished_seq: 4 });
      expect(reads.commandCheck("r1")).toMatchObject({ envelope_ok: 1, outcome_ok: 1 });
      expect(reads.countCommandsAcceptedAfter(0)).toBe(2);
      expect(reads.laneRow("session:s")).toMatchObject({ last_lane_seq: 3 });
      expect(reads.finishedRowBefore("r1", 5)).toMatchObject({ seq: 4, lane: "session:s" });
    } finally {
      reads.close();
    }
    // the store keeps working after the reader is closed
    store.commit([accepted("r3", "s")]);
  });

  it("#16 open: a reopened journal resumes from its last seq, lane heads and unfinished commands", () => {
    store.commit([accepted("u1", "s"), accepted("u2", "s")]);
    store.commit(run("u1", "s"));
    store.close();
    const again = provider.make(tmp.dir);
    opened.push(again);
    const r = again.open();
    // an in-memory journal starts empty again; a durable one resumes
    if (!provider.durable) return void expect(r.lastSeq).toBe(0);
    expect(r).toMatchObject({ lastSeq: 4, laneSeqs: [{ lane: "session:s", laneSeq: 4 }] });
    expect(r.unfinished.map((u) => [u.commandId, u.status, u.revision])).toEqual([["u2", "queued", 0]]);
  });

  it("#18.28 retention: a prefix of finished commands goes, a live key's command and an unfinished one stay; a reopened journal starts after the cut", async () => {
    const at = b.clock + 1;
    store.commit([accepted("old1", "s"), ...run("old1", "s")]);
    store.commit([accepted("kept", "s", { idempotencyKey: "k", idempotencyScope: "session:s" }), ...run("kept", "s", { idempotencyExpiresAt: at + 10 ** 9 })]);
    store.commit([accepted("old2", null), ...run("old2", null), accepted("open", "s")]);
    store.commit([accepted("new", "s"), ...run("new", "s")]);
    const report = await store.compact({ ...DEFAULT_RETENTION, maxCommands: 1, batchRows: 4 }, () => at + 100);
    // the cut stops below the unfinished command's accepted row (seq 10)
    expect(report).toEqual({ cut: 9, removedRows: 9, removedCommands: 2, batches: 3, checkpointSeq: 9 });
    expect(store.firstRetainedSeq()).toBe(10);
    expect(store.readJournal({ limit: 10 }).map((r) => r.commandId)).toEqual(["open", "new", "new", "new"]);
    expect([store.getCommand("old1"), store.getCommand("old2")]).toEqual([undefined, undefined]);
    expect(store.getCommand("kept")).toMatchObject({ status: "succeeded", outcome: ok("test") });
    expect(store.getIdempotency("session:s", "k", at + 100)?.commandId).toBe("kept");
    // again: nothing more may go
    expect(await store.compact({ ...DEFAULT_RETENTION, maxCommands: 1, batchRows: 4 }, () => at + 100)).toEqual({ cut: 9, removedRows: 0, removedCommands: 0, batches: 0, checkpointSeq: null });
    store.close();
    const again = provider.make(tmp.dir);
    opened.push(again);
    const r = again.open();
    if (!provider.durable) return void expect(r.lastSeq).toBe(0);
    expect(r).toMatchObject({ lastSeq: 13, laneSeqs: [{ lane: "server", laneSeq: 3 }, { lane: "session:s", laneSeq: 10 }] });
    expect(again.firstRetainedSeq()).toBe(10);
    expect(again.getCommand("kept")).toMatchObject({ status: "succeeded" });
    expect(again.getCommand("old1")).toBeUndefined();
    expect(r.unfinished.map((u) => u.commandId)).toEqual(["open"]);
  });
});
