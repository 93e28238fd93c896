/**
 * Issue #16: group commit (src/engine/committer.ts) against a real SqliteStore on a temp file.
 * Rows appended in one event-loop turn commit in one transaction; callbacks run only after their
 * transaction committed; seq and laneSeq stay gap-free, also across a failed commit (the store's
 * fault hook makes the Nth commit fail).
 */
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Committer, type NewRecord } from "../../src/engine/committer.js";
import { SERVER_LANE, sessionLane } from "../../src/engine/lanes.js";
import { readJournal } from "../../src/journal/reader.js";
import { SqliteStore } from "../../src/journal/sqlite-store.js";
import { JournalWriteError, type JournalRecord } from "../../src/journal/types.js";
import { tempDir } from "../journal/helpers.js";

let tmp: { dir: string; cleanup: () => void };
const open: SqliteStore[] = [];

beforeEach(() => {
  tmp = tempDir("causeway-committer-");
});
afterEach(() => {
  for (const s of open.splice(0)) s.close();
  tmp.cleanup();
});

/** A file store (fault options passed through) and a committer numbering from what it recovered. */
function start(opts: { faultFailCommit?: number; faultFailCount?: number; transform?: (r: NewRecord) => NewRecord } = {}): { store: SqliteStore; committer: Committer } {
  const store = new SqliteStore({ path: join(tmp.dir, "journal.db"), durability: "normal", faultFailCommit: opts.faultFailCommit, faultFailCount: opts.faultFailCount });
  open.push(store);
  const recovered = store.open();
  return { store, committer: new Committer(store, recovered.lastSeq, recovered.laneSeqs, opts.transform) };
}

function accepted(commandId: string, sessionId: string | null = null): NewRecord {
  return {
    lane: sessionId === null ? SERVER_LANE : sessionLane(sessionId),
    commandId,
    sessionId,
    phase: "accepted",
    recordedAt: 1_800_000_000_000,
    type: "set",
    actor: "local",
    fingerprint: `fp-${commandId}`,
  };
}

const journal = (store: SqliteStore): JournalRecord[] => readJournal(store.database(), { limit: 1_000 });
const numbers = (rows: JournalRecord[]) => rows.map((r) => [r.commandId, r.seq, r.lane, r.laneSeq]);

describe("#16 Committer: batching", () => {
  it("rows appended in one event-loop turn commit in ONE transaction, in append order, at the next turn", async () => {
    const { store, committer } = start();
    for (const id of ["c1", "c2", "c3", "c4", "c5"]) committer.append(accepted(id, id === "c3" ? null : "s"));
    expect(committer.hasUncommitted()).toBe(true);
    expect(store.stats().commits).toBe(0);
    expect(journal(store)).toEqual([]);
    await committer.committed();
    expect(committer.hasUncommitted()).toBe(false);
    expect(store.stats()).toMatchObject({ commits: 1, lastBatchSize: 5, recordsWritten: 5 });
    expect(committer.stats).toMatchObject({ batches: 1, records: 5, lastBatchSize: 5, failures: 0, degraded: false });
    expect(journal(store).map((r) => r.commandId)).toEqual(["c1", "c2", "c3", "c4", "c5"]);
  });

  it("rows appended in different turns commit in separate transactions", async () => {
    const { store, committer } = start();
    committer.append(accepted("c1"));
    await committer.committed();
    committer.append(accepted("c2"));
    committer.append(accepted("c3"));
    await committer.committed();
    expect(store.stats()).toMatchObject({ commits: 2, lastBatchSize: 2, recordsWritten: 3 });
    expect(committer.stats).toMatchObject({ batches: 2, records: 3 });
  });

  it("committed() and idle() resolve at once when nothing is buffered; flushNow commits synchronously", () => {
    const { store, committer } = start();
    committer.append(accepted("c1"));
    expect(committer.flushNow()).toBe(true);
    expect(store.getCommand("c1")).toMatchObject({ status: "queued", acceptedSeq: 1 });
    expect(committer.hasUncommitted()).toBe(false);
    expect(committer.lastSeq()).toBe(1);
    return Promise.all([committer.committed(), committer.idle()]);
  });

  it("the transform applies to every row before it is persisted (redaction before persist)", async () => {
    const { store, committer } = start({ transform: (r) => ({ ...r, params: { redacted: true } }) });
    const numbered = committer.append({ ...accepted("c1"), params: { secret: "hunter2" } });
    expect(numbered.params).toEqual({ redacted: true });
    await committer.committed();
    expect(journal(store)[0]!.params).toEqual({ redacted: true });
  });
});

describe("#16 Committer: persist before publish", () => {
  it("onCommit runs only after the transaction committed, once per row, in append order, with the numbered row", async () => {
    const { store, committer } = start();
    const seen: Array<{ id: string; seq: number; durable: boolean }> = [];
    const onCommit = (r: JournalRecord): void => {
      seen.push({ id: r.commandId, seq: r.seq, durable: store.getCommand(r.commandId) !== undefined });
    };
    committer.append(accepted("c1", "s"), { onCommit });
    committer.append(accepted("c2"), { onCommit });
    committer.append(accepted("c3", "s"), { onCommit });
    expect(seen).toEqual([]);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(seen).toEqual([]);
    await committer.committed();
    expect(seen).toEqual([
      { id: "c1", seq: 1, durable: true },
      { id: "c2", seq: 2, durable: true },
      { id: "c3", seq: 3, durable: true },
    ]);
  });
});

describe("#16 Committer: numbering", () => {
  it("seq is global and gap-free; laneSeq counts per lane; both continue from what the journal recovered", async () => {
    const first = start();
    const rows = [accepted("c1"), accepted("c2", "s"), accepted("c3"), accepted("c4", "s"), accepted("c5", "t")].map((r) => first.committer.append(r));
    expect(rows.map((r) => [r.seq, r.laneSeq])).toEqual([
      [1, 1],
      [2, 1],
      [3, 2],
      [4, 2],
      [5, 1],
    ]);
    await first.committer.committed();
    expect(first.committer.lastSeq()).toBe(5);
    open.splice(0).forEach((s) => s.close());

    const second = start();
    for (const r of [accepted("c6", "s"), accepted("c7", "u"), accepted("c8")]) second.committer.append(r);
    await second.committer.committed();
    expect(numbers(journal(second.store))).toEqual([
      ["c1", 1, "server", 1],
      ["c2", 2, "session:s", 1],
      ["c3", 3, "server", 2],
      ["c4", 4, "session:s", 2],
      ["c5", 5, "session:t", 1],
      ["c6", 6, "session:s", 3],
      ["c7", 7, "session:u", 1],
      ["c8", 8, "server", 3],
    ]);
  });
});

describe("#16 Committer: a failed commit", () => {
  it("runs onFail (never onCommit), rejects committed(), calls the failure handler once, and writes nothing", async () => {
    const { store, committer } = start({ faultFailCommit: 2 });
    committer.append(accepted("c1"));
    await committer.committed();

    const events: string[] = [];
    const errors: unknown[] = [];
    committer.onFailure((err) => {
      events.push("handler");
      errors.push(err);
    });
    for (const id of ["c2", "c3"]) {
      committer.append(accepted(id, "s"), {
        onCommit: () => events.push(`commit ${id}`),
        onFail: (err) => {
          events.push(`fail ${id}`);
          errors.push(err);
        },
      });
    }
    const idle = committer.idle();
    await expect(committer.committed()).rejects.toBeInstanceOf(JournalWriteError);
    await idle;
    expect(events).toEqual(["fail c2", "fail c3", "handler"]);
    expect(errors).toHaveLength(3);
    expect(new Set(errors).size).toBe(1);
    expect(errors[0]).toMatchObject({ code: "journal_unavailable" });
    expect((errors[0] as Error).message).toContain("injected fault, commit #2");
    expect(committer.stats).toMatchObject({ batches: 1, failures: 1, degraded: true });
    expect(committer.stats.lastError).toContain("injected fault");
    expect(committer.stats.lastErrorAt).not.toBeNull();
    expect(committer.lastSeq()).toBe(1);
    expect(journal(store).map((r) => r.commandId)).toEqual(["c1"]);
    expect(store.getCommand("c2")).toBeUndefined();
  });

  it("the numbers fall back to the last durable ones: repair rows and later rows reuse what the failed batch never made durable", async () => {
    const { store, committer } = start({ faultFailCommit: 2 });
    committer.append(accepted("c1", "s"));
    committer.append(accepted("c2"));
    await committer.committed();

    const repairs: JournalRecord[] = [];
    committer.onFailure(() => repairs.push(committer.append(accepted("repair", "s"))));
    const lost = [accepted("lost1", "s"), accepted("lost2", "t"), accepted("lost3", "s")].map((r) => committer.append(r));
    expect(lost.map((r) => [r.seq, r.laneSeq])).toEqual([
      [3, 2],
      [4, 1],
      [5, 3],
    ]);
    await expect(committer.committed()).rejects.toBeInstanceOf(JournalWriteError);
    // appended from inside the failure handler: numbered right after the last committed row
    expect(repairs.map((r) => [r.seq, r.lane, r.laneSeq])).toEqual([[3, "session:s", 2]]);
    const later = [accepted("later1", "t"), accepted("later2", "s")].map((r) => committer.append(r));
    expect(later.map((r) => [r.seq, r.laneSeq])).toEqual([
      [4, 1],
      [5, 3],
    ]);
    await committer.committed(); // commit #3 (after the back-off) succeeds: the store accepts the numbers
    expect(committer.stats).toMatchObject({ degraded: false, failures: 1, batches: 2 });
    expect(numbers(journal(store))).toEqual([
      ["c1", 1, "session:s", 1],
      ["c2", 2, "server", 1],
      ["repair", 3, "session:s", 2],
      ["later1", 4, "session:t", 1],
      ["later2", 5, "session:s", 3],
    ]);
  });

  it("flushNow reports a failed commit with false", () => {
    const { store, committer } = start({ faultFailCommit: 1 });
    let failed = 0;
    committer.append(accepted("c1"), { onFail: () => failed++ });
    expect(committer.flushNow()).toBe(false);
    expect(failed).toBe(1);
    expect(store.getCommand("c1")).toBeUndefined();
    committer.append(accepted("c1"));
    expect(committer.flushNow()).toBe(true);
    expect(store.getCommand("c1")).toMatchObject({ acceptedSeq: 1 });
  });
});
