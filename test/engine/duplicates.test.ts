/**
 * Issue #16: duplicate submissions (src/engine/duplicates.ts), in process, with a real Committer,
 * Publisher and Responder over a real SqliteStore, and a connection that records its frames.
 * - original in flight, same fingerprint → attached (answered when the original is published);
 * - original finished, same fingerprint → a `replayed` row, `command_finished replayed:true`, the
 *   stored outcome under the request's own id;
 * - different fingerprint → a `conflict` row, `command_rejected`, `replay_conflict`.
 * Nothing reaches the connection before its row committed; the original is never touched.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Committer } from "../../src/engine/committer.js";
import { Duplicates } from "../../src/engine/duplicates.js";
import { JobTable, type FinishedRef } from "../../src/engine/jobs.js";
import { NOOP_OBSERVER } from "../../src/observability/observer.js";
import { Publisher } from "../../src/engine/publisher.js";
import { Responder } from "../../src/engine/responder.js";
import { readJournal } from "../../src/journal/reader.js";
import { fingerprint } from "../../src/protocol/fingerprint.js";
import { conflictingReuse } from "../../src/protocol/messages.js";
import type { CommandEnvelope, Outcome } from "../../src/protocol/types.js";
import type { FakeConnection } from "../helpers/inproc.js";
import { TestJournal, recordingConnection, testJob } from "./fixtures.js";

const NOW = 1_800_000_000_000;
const journals: TestJournal[] = [];
afterEach(() => {
  for (const j of journals.splice(0)) j.store.close();
});

interface World {
  journal: TestJournal;
  committer: Committer;
  responder: Responder;
  duplicates: Duplicates;
  conn: FakeConnection;
  observed: string[];
  /** the finished command `orig` (session s), as the engine finds it */
  stored(): FinishedRef;
}

const ORIGINAL: CommandEnvelope = { type: "set", id: "orig", sessionId: "s", path: "/x", value: 1 };
const STORED_OUTCOME: Outcome = { command: "set", success: true, sessionVersion: 3 };

function world(opts: { maxInFlight?: number; faultFailCommit?: number } = {}): World {
  const journal = new TestJournal({ faultFailCommit: opts.faultFailCommit });
  journals.push(journal);
  journal.finished("orig", "s", STORED_OUTCOME, fingerprint(ORIGINAL)); // commit #1
  const committer = new Committer(journal.store, journal.lastSeq(), journal.laneSeqs());
  const publisher = new Publisher();
  const responder = new Responder(publisher);
  const observed: string[] = [];
  let generated = 0;
  const duplicates = new Duplicates({
    committer,
    publisher,
    responder,
    maxInFlightPerConnection: opts.maxInFlight ?? 8,
    now: () => NOW,
    newCommandId: () => `gen-${++generated}`,
    observer: { ...NOOP_OBSERVER, duplicate: (kind, type) => observed.push(`${kind} ${type}`) },
  });
  const conn = recordingConnection();
  publisher.add(conn);
  const jobs = new JobTable(journal.store, 10);
  return { journal, committer, responder, duplicates, conn, observed, stored: () => jobs.finished("orig")! };
}

/** Journal rows written after the setup's original command. */
const newRows = (w: World) => readJournal(w.journal.store.database(), { afterSeq: 3, limit: 100 });
const inFlightOriginal = (fp: string) => testJob({ id: "orig", lane: "session:s", fingerprint: fp, status: "running", envelope: ORIGINAL });

describe("#16 Duplicates.inFlight", () => {
  it("same fingerprint: attaches to the original, owes one answer, writes and sends nothing yet", async () => {
    const w = world();
    const original = inFlightOriginal(fingerprint(ORIGINAL));
    const again: CommandEnvelope = { ...ORIGINAL, id: "again" };
    w.duplicates.inFlight(w.conn, again, original, fingerprint(again), "id");
    expect(original.attached).toEqual([{ conn: w.conn, replyId: "again", by: "id" }]);
    expect(w.responder.inflight(w.conn)).toBe(1);
    expect(w.committer.hasUncommitted()).toBe(false);
    await new Promise((resolve) => setImmediate(resolve));
    expect(w.conn.frames).toEqual([]);
    expect(newRows(w)).toEqual([]);
    expect(w.observed).toEqual(["attach set"]);
  });

  it("same fingerprint, but the connection already owes maxInFlightPerConnection answers: busy, not attached", () => {
    const w = world({ maxInFlight: 1 });
    w.responder.owe(w.conn);
    const original = inFlightOriginal(fingerprint(ORIGINAL));
    const again: CommandEnvelope = { ...ORIGINAL, id: "again" };
    w.duplicates.inFlight(w.conn, again, original, fingerprint(again), "id");
    expect(original.attached).toEqual([]);
    expect(w.conn.frames).toEqual([{ type: "response", id: "again", command: "set", success: false, code: "busy", error: "too many commands in flight on this connection" }]);
    expect(w.responder.inflight(w.conn)).toBe(1);
    expect(w.observed).toEqual([]);
  });

  it("different fingerprint: a conflict row commits first, then command_rejected, then replay_conflict; nothing attached", async () => {
    const w = world();
    const original = inFlightOriginal(fingerprint(ORIGINAL));
    const other: CommandEnvelope = { ...ORIGINAL, id: "orig", value: 2 };
    w.duplicates.inFlight(w.conn, other, original, fingerprint(other), "id");
    expect(w.conn.frames).toEqual([]); // persist before publish
    expect(w.responder.inflight(w.conn)).toBe(1);
    await w.committer.committed();
    const error = conflictingReuse("id", "orig", "set", "set");
    expect(newRows(w)).toMatchObject([
      { seq: 4, lane: "session:s", laneSeq: 4, commandId: "orig", phase: "conflict", fingerprint: fingerprint(other), outcome: { success: false, code: "replay_conflict", error }, detail: { conflictWith: "orig", by: "id" } },
    ]);
    expect(w.conn.frames.map((f) => f.type)).toEqual(["command_rejected", "response"]);
    expect(w.conn.frames[0]!.data).toMatchObject({ commandId: "orig", commandType: "set", code: "replay_conflict", error, conflictWith: "orig", laneKey: "session:s", laneSequence: 4, seq: 4 });
    expect(w.conn.frames[1]).toEqual({ type: "response", id: "orig", command: "set", success: false, code: "replay_conflict", error });
    expect(original.attached).toEqual([]);
    expect(w.responder.inflight(w.conn)).toBe(0);
    expect(w.observed).toEqual(["conflict set"]);
  });
});

describe("#16 Duplicates.stored", () => {
  it("same fingerprint: a replayed row, then command_finished replayed:true, then the stored outcome under the request's id", async () => {
    const w = world();
    const again: CommandEnvelope = { ...ORIGINAL, id: "again" };
    w.duplicates.stored(w.conn, again, w.stored(), fingerprint(again), "id");
    expect(w.conn.frames).toEqual([]); // persist before publish
    expect(w.responder.inflight(w.conn)).toBe(1);
    await w.committer.committed();
    expect(newRows(w)).toMatchObject([
      { seq: 4, lane: "session:s", laneSeq: 4, commandId: "again", phase: "replayed", outcome: STORED_OUTCOME, detail: { replayOf: "orig", by: "id" } },
    ]);
    expect(w.conn.frames.map((f) => f.type)).toEqual(["command_finished", "response"]);
    expect(w.conn.frames[0]!.data).toMatchObject({ commandId: "again", commandType: "set", sessionId: "s", success: true, sessionVersion: 3, replayed: true, laneSequence: 4, seq: 4 });
    expect(w.conn.frames[1]).toEqual({ type: "response", id: "again", command: "set", success: true, sessionVersion: 3, replayed: true });
    expect(w.responder.inflight(w.conn)).toBe(0);
    expect(w.observed).toEqual(["replay set"]);
    // the original's stored outcome is untouched
    expect(w.journal.store.getCommand("orig")).toMatchObject({ status: "succeeded", outcome: STORED_OUTCOME });
  });

  it("a replay without an id is journaled under a generated id and answered without one", async () => {
    const w = world();
    const retry: CommandEnvelope = { type: "set", sessionId: "s", path: "/x", value: 1, idempotencyKey: "k" };
    w.duplicates.stored(w.conn, retry, w.stored(), fingerprint(ORIGINAL), "idempotencyKey");
    await w.committer.committed();
    expect(newRows(w)).toMatchObject([{ commandId: "gen-1", phase: "replayed", detail: { replayOf: "orig", by: "idempotencyKey" } }]);
    const response = w.conn.frames.find((f) => f.type === "response")!;
    expect("id" in response).toBe(false);
    expect(response).toMatchObject({ replayed: true, success: true, sessionVersion: 3 });
  });

  it("different fingerprint on a reused idempotency key: conflict naming the key and both types; the original untouched", async () => {
    const w = world();
    const other: CommandEnvelope = { type: "patch", id: "p1", sessionId: "s", ops: [], idempotencyKey: "k" };
    w.duplicates.stored(w.conn, other, w.stored(), fingerprint(other), "idempotencyKey");
    await w.committer.committed();
    const error = conflictingReuse("idempotencyKey", "k", "set", "patch");
    expect(error).toContain("'k'");
    expect(newRows(w)).toMatchObject([{ commandId: "p1", phase: "conflict", type: "patch", detail: { conflictWith: "orig", by: "idempotencyKey" } }]);
    expect(w.conn.frames.at(-1)).toEqual({ type: "response", id: "p1", command: "patch", success: false, code: "replay_conflict", error });
    expect(w.observed).toEqual(["conflict patch"]);
    expect(w.journal.store.getCommand("orig")).toMatchObject({ status: "succeeded", outcome: STORED_OUTCOME });
  });

  it("when the replayed row fails to commit: journal_unavailable, no event, no row, the credit returned", async () => {
    const w = world({ faultFailCommit: 2 });
    w.duplicates.stored(w.conn, { ...ORIGINAL, id: "again" }, w.stored(), fingerprint(ORIGINAL), "id");
    await expect(w.committer.committed()).rejects.toMatchObject({ code: "journal_unavailable" });
    expect(w.conn.frames).toHaveLength(1);
    expect(w.conn.frames[0]).toMatchObject({ type: "response", id: "again", command: "set", success: false, code: "journal_unavailable" });
    expect("replayed" in w.conn.frames[0]!).toBe(false);
    expect(newRows(w)).toEqual([]);
    expect(w.responder.inflight(w.conn)).toBe(0);
  });
});
