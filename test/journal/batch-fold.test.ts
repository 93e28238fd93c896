/**
 * #17 batch folding (src/journal/batch-fold.ts): within one batch the records of a command write its
 * `commands` row once, its idempotency entry once, and a session is written once with its last
 * state. The tables and every refusal must be what writing record by record gives: the store with
 * `foldBatches: false` is that reference (the per-record statements, unchanged).
 */
import { afterEach, describe, expect, it } from "vitest";
import { SqliteStore } from "../../src/journal/sqlite-store.js";
import { JournalWriteError, type JournalRecord } from "../../src/journal/types.js";
import type { Outcome } from "../../src/protocol/types.js";
import { RecordBuilder, dumpTables } from "./helpers.js";

const stores: SqliteStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

function store(fold = true): SqliteStore {
  const s = new SqliteStore({ path: ":memory:", durability: "off", foldBatches: fold });
  stores.push(s);
  s.open();
  return s;
}

/** Every table the store derives from the journal, and the journal itself, as plain rows. */
function derived(s: SqliteStore): Record<string, unknown[]> {
  const db = s.database();
  const out = dumpTables(db);
  for (const [t, by] of [
    ["decisions", "seq"],
    ["command_tags", "tag, accepted_seq"],
    ["command_dependencies", "command_id, depends_on"],
    ["clock_regressions", "accepted_seq"],
  ] as const) {
    out[t] = db.prepare(`SELECT * FROM ${t} ORDER BY ${by}`).all();
  }
  return out;
}

/** Commit; the error message, or null when it committed. */
function attempt(s: SqliteStore, records: JournalRecord[]): string | null {
  try {
    s.commit(records);
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(JournalWriteError);
    return (e as Error).message;
  }
}

/** Rows written by one commit (SQLite's change counter: every inserted or updated row). */
function rowsWritten(s: SqliteStore, records: JournalRecord[]): number {
  const db = s.database();
  const before = (db.prepare("SELECT total_changes() AS n").get() as { n: number }).n;
  s.commit(records);
  return (db.prepare("SELECT total_changes() AS n").get() as { n: number }).n - before;
}

const ok = (command: string, sessionVersion?: number): Outcome => ({ command, success: true, ...(sessionVersion !== undefined ? { sessionVersion } : {}) });
const failed = (command: string): Outcome => ({ command, success: false, code: "handler_error", error: "boom" });

const setupSession = (b: RecordBuilder): JournalRecord[] => [
  b.record("accepted", "mk", null, { type: "create_session" }),
  b.record("started", "mk", null, { type: "create_session", status: "running", revision: 1 }),
  b.record("finished", "mk", null, { type: "create_session", status: "succeeded", revision: 2, outcome: ok("create_session", 1), effect: { kind: "create", sessionId: "s", state: { v: 0 }, version: 1 } }),
];

const IDS = ["c1", "c2", "c3"];

/** Command `c<n+1>` on session `s` (keyed, tagged, depending on the one before), its phase `phase`. */
function row(b: RecordBuilder, n: number, phase: "accepted" | "started" | "finished"): JournalRecord {
  const id = IDS[n]!;
  if (phase === "accepted") {
    return b.record("accepted", id, "s", { explicitId: true, params: { n }, timeoutMs: 5000, dependsOn: n > 0 ? [IDS[n - 1]!] : null, detail: { tags: ["x"] }, idempotencyKey: `k-${id}`, idempotencyScope: "session:s" });
  }
  if (phase === "started") return b.record("started", id, "s", { status: "running", revision: 1 });
  return b.record("finished", id, "s", {
    status: "succeeded",
    revision: 2,
    outcome: ok("set", n + 2),
    idempotencyExpiresAt: b.clock + 60_000,
    effect: { kind: "write", sessionId: "s", state: { v: n + 1 }, version: n + 2 },
  });
}

describe("#17 batch folding", () => {
  it("#17 a batch with accepted + started + finished of a command leaves the same commands, idempotency and sessions rows as three batches", () => {
    const three = store();
    const one = store();
    const b = new RecordBuilder();
    const setup = setupSession(b);
    for (const s of [three, one]) s.commit(setup);
    const phases = (["accepted", "started", "finished"] as const).map((phase) => IDS.map((_, n) => row(b, n, phase)));
    for (const batch of phases) three.commit(batch);
    // the same records in ONE batch
    one.commit(phases.flat());
    const folded = derived(one);
    expect(folded).toEqual(derived(three));
    expect(folded.commands!.filter((c) => (c as { status: string }).status === "succeeded")).toHaveLength(4);
    expect(folded.sessions).toEqual([expect.objectContaining({ session_id: "s", version: 4, deleted_at: null })]);
    // the writes are whole (write effects): the checkpoint is the last one
    expect(folded.session_states).toEqual([expect.objectContaining({ session_id: "s", version: 4, state: JSON.stringify({ v: 3 }) })]);
    expect(folded.idempotency).toHaveLength(3);
  });

  it("#17 a command's rows in one batch write its commands row once, its key once, and the session once", () => {
    const b = new RecordBuilder();
    const setup = setupSession(b);
    const reference = store(false);
    const folded = store();
    reference.commit(setup);
    folded.commit(setup);
    const batch = [row(b, 0, "accepted"), row(b, 0, "started"), row(b, 0, "finished")];
    // journal 3 + commands 3 + idempotency 2 (claim, expiry) + sessions 1 + session_states 1 (a whole write) + lanes 1 + command_tags 1, record by record
    expect(rowsWritten(reference, batch)).toBe(3 + 3 + 2 + 1 + 1 + 1 + 1);
    // journal 3 + commands 1 + idempotency 1 + sessions 1 + session_states 1 + lanes 1 + command_tags 1, folded
    expect(rowsWritten(folded, batch)).toBe(3 + 1 + 1 + 1 + 1 + 1 + 1);
    expect(derived(folded)).toEqual(derived(reference));
    // two commands writing one session in one batch (+ a dependency row each): the session row once
    const rest = (["accepted", "started", "finished"] as const).flatMap((phase) => [row(b, 1, phase), row(b, 2, phase)]);
    expect(rowsWritten(reference, rest)).toBe(6 + 6 + 4 + 2 + 2 + 1 + 2 + 2);
    expect(rowsWritten(folded, rest)).toBe(6 + 2 + 2 + 1 + 1 + 1 + 2 + 2);
    expect(derived(folded)).toEqual(derived(reference));
  });

  it("#17 a compare-and-swap violation inside one batch is refused whole, with the message record by record gives", () => {
    const b = new RecordBuilder();
    const batch = [
      b.record("accepted", "c", "s"),
      b.record("started", "c", "s", { status: "running", revision: 1 }),
      // stale: the command is at revision 1 already (checked in memory against the folded row)
      b.record("started", "c", "s", { status: "running", revision: 1 }),
    ];
    const folded = store();
    const reference = store(false);
    const why = attempt(folded, batch);
    expect(why).toBe(attempt(reference, batch));
    expect(why).toBe("journal commit rolled back: record #2 (seq 3, started c): started: command c is running at revision 1: running → running expecting revision 0 refused");
    expect(folded.getCommand("c")).toBeUndefined();
    expect(folded.readJournal({ limit: 10 })).toEqual([]);
    expect(folded.stats()).toMatchObject({ commits: 0, commitFailures: 1 });
    // and the store goes on: the same numbers commit
    folded.commit(batch.slice(0, 2));
    expect(folded.getCommand("c")).toMatchObject({ status: "running", revision: 1 });
  });

  it("#17 the first violated check in record order is reported: a command admitted before is checked against its stored row", () => {
    const b = new RecordBuilder();
    const before = [b.record("accepted", "a", "s"), b.record("accepted", "b", "s")];
    const batch = [
      // a is queued at revision 0: revision 2 is stale (checked when a's row is written, at the end)
      b.record("started", "a", "s", { status: "running", revision: 2 }),
      b.record("started", "b", "s", { status: "running", revision: 1 }),
      // refused in memory, after the refusal above
      b.record("finished", "b", "s", { status: "succeeded", revision: 3, outcome: ok("t") }),
    ];
    const folded = store();
    const reference = store(false);
    for (const s of [folded, reference]) s.commit(before);
    const why = attempt(folded, batch);
    expect(why).toBe(attempt(reference, batch));
    expect(why).toMatch(/^journal commit rolled back: record #0 \(seq 3, started a\): started: command a is queued at revision 0: queued → running expecting revision 1 refused$/);
    expect(derived(folded)).toEqual(derived(reference));
  });

  it("#17 a key claimed in a batch while its holder (admitted before) finishes later in the batch is still held at the claim", () => {
    const b = new RecordBuilder();
    const key = { idempotencyKey: "K", idempotencyScope: "session:s" };
    const before = [b.record("accepted", "a", "s", key)];
    const batch = [
      b.record("started", "a", "s", { status: "running", revision: 1 }),
      // a clock far ahead: a's entry would have expired by then, but a has not finished yet at this row
      b.record("accepted", "b", "s", { ...key, recordedAt: b.clock + 10_000 }),
      b.record("finished", "a", "s", { status: "succeeded", revision: 2, outcome: ok("t"), idempotencyExpiresAt: b.clock + 1 }),
    ];
    const folded = store();
    const reference = store(false);
    for (const s of [folded, reference]) s.commit(before);
    const why = attempt(folded, batch);
    expect(why).toBe(attempt(reference, batch));
    expect(why).toMatch(/record #1 \(seq 3, accepted b\): idempotency key \(session:s, K\) is still held by another command$/);
    expect(derived(folded)).toEqual(derived(reference));
  });

  it("#17 keys, sessions and duplicate ids inside one batch are refused as record by record", () => {
    const cases: Array<[string, (b: RecordBuilder) => JournalRecord[], RegExp]> = [
      ["a key claimed twice", (b) => [b.record("accepted", "k1", "s", { idempotencyKey: "K", idempotencyScope: "session:s" }), b.record("accepted", "k2", "s", { idempotencyKey: "K", idempotencyScope: "session:s" })], /record #1 .*idempotency key \(session:s, K\) is still held/],
      ["an id admitted twice", (b) => [b.record("accepted", "d", "s"), b.record("accepted", "d", "s")], /record #1 .*UNIQUE constraint failed: commands.command_id/],
      [
        "a session version that does not increase",
        (b) => [
          b.record("accepted", "m", null),
          b.record("started", "m", null, { status: "running", revision: 1 }),
          b.record("finished", "m", null, { status: "succeeded", revision: 2, outcome: ok("t"), effect: { kind: "create", sessionId: "s", state: {}, version: 1 } }),
          b.record("accepted", "w", "s"),
          b.record("started", "w", "s", { status: "running", revision: 1 }),
          b.record("finished", "w", "s", { status: "succeeded", revision: 2, outcome: ok("t"), effect: { kind: "write", sessionId: "s", state: {}, version: 1 } }),
        ],
        /record #5 .*write: session s is at version 1, not below 1/,
      ],
      [
        "a move to a terminal status without an outcome (the table's CHECK)",
        (b) => [b.record("accepted", "t", "s"), b.record("started", "t", "s", { status: "running", revision: 1 }), b.record("requeued", "t", "s", { status: "succeeded", revision: 2 })],
        /record #2 .*CHECK constraint failed/,
      ],
      ["a finished row of an unknown command", (b) => [b.record("accepted", "x", "s"), b.record("finished", "ghost", "s", { status: "failed", revision: 1, outcome: failed("t") })], /record #1 .*unknown command ghost/],
    ];
    for (const [name, make, re] of cases) {
      const folded = store();
      const reference = store(false);
      const records = make(new RecordBuilder());
      const why = attempt(folded, records);
      expect(why, name).toMatch(re);
      expect(why, name).toBe(attempt(reference, records));
      expect(derived(folded), name).toEqual(derived(reference));
    }
  });
});
