/**
 * #18 several nodes on one Redis journal, at the store: two RedisStores with node names on one
 * real redis-server (no causeway process):
 *  - a lane is claimed by one node; the other is told the owner and its URL;
 *  - the commit script numbers batches across nodes: seq gap-free over both, each node's projection
 *    holds the other's records in order (applied before its own batch);
 *  - fencing: a batch touching a lane this node does not own is refused and the store fails closed;
 *  - a node that stops renewing its lease loses its lanes: the other claims them with what they
 *    resume from (session, lane head, unfinished commands), the orphans list names them, and the
 *    stale node's next commit is refused;
 *  - the mailbox: a message is answered by the other node's handler; one to a node that does not
 *    answer rejects after its timeout.
 */
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { RedisStore } from "../../../src/journal/redis/redis-store.js";
import { DEFAULT_RETENTION } from "../../../src/journal/retention.js";
import { JournalWriteError, type JournalRecord, type LaneOwnership } from "../../../src/journal/types.js";
import { useRedisClient } from "../../helpers/redis-server.js";
import { RecordBuilder } from "../helpers.js";

const { redis, client } = useRedisClient();

const opened: RedisStore[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});
let journals = 0;

/** Two nodes, a and b, on a fresh journal (lease 600 ms). */
function pair(): { a: RedisStore; b: RedisStore; name: string } {
  const name = `nodes-${process.pid}-${journals++}`;
  const make = (node: string): RedisStore => {
    const s = new RedisStore({ url: redis.url(), name, node, nodeUrl: `ws://${node}.example/`, leaseTtlMs: 600 });
    opened.push(s);
    s.open();
    return s;
  };
  return { a: make("a"), b: make("b"), name };
}

const own = (s: RedisStore): LaneOwnership => s.ownership!;
const ok = { command: "test", success: true };
/** A node's records are numbered by its own builder (lane sequences); the script renumbers `seq`. */
const accepted = (b: RecordBuilder, id: string, session: string): JournalRecord => b.record("accepted", id, session, { explicitId: true, params: {}, timeoutMs: 1000 });

describe("#18 two nodes on one Redis journal (store level)", () => {
  it("a lane has one owner; batches from both nodes are numbered into one gap-free journal; each projection holds both", () => {
    const { a, b } = pair();
    expect(own(a).serverLane).toBe("server@a");
    expect(own(a).claim("session:s1")).toMatchObject({ kind: "claimed", from: null });
    expect(own(b).claim("session:s1")).toEqual({ kind: "other", node: "a", url: "ws://a.example/" });
    expect(own(b).claim("session:s2")).toMatchObject({ kind: "claimed" });
    const ba = new RecordBuilder();
    const bb = new RecordBuilder();
    const r1 = [accepted(ba, "a1", "s1"), accepted(ba, "a2", "s1")];
    a.commit(r1);
    const r2 = [accepted(bb, "b1", "s2")];
    b.commit(r2);
    const r3 = [accepted(ba, "a3", "s1")];
    a.commit(r3);
    // the script's numbers, written back into the records the engine publishes
    expect([...r1, ...r2, ...r3].map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(r3[0]!.laneSeq).toBe(3);
    // a applied b's record before its own batch: its projection is the whole journal in order
    expect(a.readJournal({ afterSeq: 0, limit: 10 }).map((r) => [r.seq, r.commandId])).toEqual([
      [1, "a1"],
      [2, "a2"],
      [3, "b1"],
      [4, "a3"],
    ]);
    own(b).catchUp();
    expect(b.getCommand("a3")?.lane).toBe("session:s1");
  });

  it("a batch touching another node's lane is refused, and that store fails closed", () => {
    const { a, b } = pair();
    own(a).claim("session:s1");
    const bb = new RecordBuilder();
    const err = (() => {
      try {
        b.commit([accepted(bb, "x1", "s1")]);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(JournalWriteError);
    expect((err as Error).message).toMatch(/lane session:s1 is not owned by node b/);
    expect(b.stats().failure).toMatch(/lane session:s1 is not owned by node b/);
    expect(a.readJournal({ afterSeq: 0, limit: 10 })).toEqual([]);
  });

  it("a node whose lease lapsed loses its lanes: the other claims them with what they resume from; the stale node is fenced", async () => {
    const { a, b, name } = pair();
    own(a).claim("session:s1");
    const ba = new RecordBuilder();
    a.commit([ba.record("accepted", "c1", "s1", { explicitId: true, params: {}, timeoutMs: 1000 }), ba.record("started", "c1", "s1", { status: "running", revision: 1 }), ba.record("finished", "c1", "s1", { status: "succeeded", revision: 2, outcome: ok, effect: { kind: "create", sessionId: "s1", version: 0, state: {} } })]);
    a.commit([accepted(ba, "c2", "s1")]);
    expect(own(b).orphans()).toEqual([]);
    a.stopLeaseRenewalForTest();
    while ((await client.exists(`cw:{${name}}:lease:node:a`)) === 1) await new Promise((r) => setTimeout(r, 20));
    expect(own(b).orphans()).toEqual(["session:s1"]);
    const claim = own(b).claim("session:s1");
    expect(claim).toMatchObject({ kind: "claimed", from: "a" });
    if (claim.kind !== "claimed") throw new Error("not claimed");
    expect(claim.recovered.sessions.map((x) => [x.sessionId, x.version])).toEqual([["s1", 0]]);
    expect(claim.recovered.laneSeqs).toEqual([{ lane: "session:s1", laneSeq: 4 }]);
    expect(claim.recovered.unfinished.map((u) => [u.commandId, u.status])).toEqual([["c2", "queued"]]);
    expect(() => a.commit([ba.record("started", "c2", "s1", { status: "running", revision: 1 })])).toThrow(JournalWriteError);
    expect(a.stats().failure).not.toBeNull();
    expect(own(a).claim("session:s9")).toMatchObject({ kind: "unavailable" });
  });

  it("a shared journal is not compacted (another node may still have to read what a cut removes)", async () => {
    const { a, name } = pair();
    own(a).claim("session:s1");
    const ba = new RecordBuilder();
    for (let i = 0; i < 3; i++) a.commit([ba.record("accepted", `r${i}`, "s1", { explicitId: true, params: {}, timeoutMs: 1000 }), ba.record("started", `r${i}`, "s1", { status: "running", revision: 1 }), ba.record("finished", `r${i}`, "s1", { status: "succeeded", revision: 2, outcome: ok })]);
    expect(await a.compact({ ...DEFAULT_RETENTION, maxCommands: 1 }, () => Date.now())).toBeNull();
    expect(a.firstRetainedSeq()).toBe(1);
    expect(await client.xlen(`cw:{${name}}:journal`)).toBe(9);
  });

  it("the mailbox: the other node's handler answers; a node that does not answer makes the send reject after its timeout", async () => {
    const { a, b } = pair();
    own(b).onMessage(async (m) => ({ echoed: m, by: "b" }));
    await expect(own(a).send("b", { hello: 1 }, 5_000)).resolves.toEqual({ echoed: { hello: 1 }, by: "b" });
    own(b).onMessage(async () => {
      throw new Error("no such decision");
    });
    await expect(own(a).send("b", {}, 5_000)).rejects.toThrow(/no such decision/);
    await expect(own(a).send("nobody", {}, 300)).rejects.toThrow(/node nobody did not answer within 300 ms/);
  });
});
