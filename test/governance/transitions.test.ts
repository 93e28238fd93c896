/**
 * The one transition table, and the journal's compare-and-swap on it: a status-changing row applies
 * only at the next revision and from a source status the table allows.
 */
import { describe, expect, it } from "vitest";
import { canTransition, sourcesOf, TRANSITIONS, assertTransition, IllegalTransition } from "../../src/lifecycle/transitions.js";
import { SqliteStore } from "../../src/journal/sqlite-store.js";
import { type JournalRecord } from "../../src/journal/types.js";
import { TERMINAL_STATUSES, type CommandStatus } from "../../src/lifecycle/status.js";

describe("transition table", () => {
  it("terminal statuses have no way out; every status but terminal ones can be left", () => {
    for (const s of TERMINAL_STATUSES) expect(TRANSITIONS[s]).toEqual([]);
    for (const s of ["queued", "pending", "approved", "running"] as CommandStatus[]) expect(TRANSITIONS[s].length).toBeGreaterThan(0);
  });

  it("encodes the governance rules", () => {
    expect(canTransition("pending", "approved")).toBe(true);
    expect(canTransition("approved", "running")).toBe(true); // the claim
    expect(canTransition("running", "cancelled")).toBe(false); // a cancel after the claim fails
    expect(canTransition("pending", "running")).toBe(false); // never without approval
    expect(canTransition("queued", "succeeded")).toBe(false); // never without running
    expect(canTransition("approved", "pending")).toBe(true); // renew
    expect(sourcesOf("superseded")).toEqual(["pending"]);
    expect(sourcesOf("cancelled").sort()).toEqual(["approved", "pending", "queued"]);
    expect(() => assertTransition("c1", "running", "cancelled")).toThrow(IllegalTransition);
  });
});

describe("the journal's compare-and-swap", () => {
  let seq = 0;
  const laneSeq = new Map<string, number>();
  const row = (phase: JournalRecord["phase"], extra: Partial<JournalRecord> = {}): JournalRecord => {
    const lane = "session:s";
    const l = (laneSeq.get(lane) ?? 0) + 1;
    laneSeq.set(lane, l);
    return { seq: ++seq, lane, laneSeq: l, commandId: "g1", sessionId: "s", phase, recordedAt: 1_000 + seq, type: "set", actor: "a", fingerprint: "f", ...extra };
  };
  const rewind = (n: number): void => {
    seq -= n;
    laneSeq.set("session:s", laneSeq.get("session:s")! - n);
  };

  it("applies the next revision from an allowed source, and refuses a stale revision or an illegal edge", () => {
    const s = new SqliteStore({ path: ":memory:", durability: "off" });
    s.open();
    s.commit([row("accepted", { revision: 0 }), row("pending", { status: "pending", revision: 1, detail: { reason: "approval" } })]);
    expect(s.getCommand("g1")).toMatchObject({ status: "pending", revision: 1 });
    // a second decision computed from revision 1 (the race loser) is refused by the store too
    const stale = row("approval", { status: "pending", revision: 2 });
    s.commit([stale]);
    expect(() => s.commit([row("finished", { status: "cancelled", revision: 2, outcome: { command: "set", success: false, code: "cancelled", error: "x" } })])).toThrow(/pending at revision 2: pending → cancelled expecting revision 1 refused/);
    rewind(1);
    // pending → running skips the approval: not in the table
    expect(() => s.commit([row("started", { status: "running", revision: 3 })])).toThrow(/pending → running/);
    rewind(1);
    s.commit([row("approved", { status: "approved", revision: 3 }), row("started", { status: "running", revision: 4 })]);
    expect(() => s.commit([row("finished", { status: "cancelled", revision: 5, outcome: { command: "set", success: false, code: "cancelled", error: "x" } })])).toThrow(/running → cancelled/);
    expect(s.getCommand("g1")).toMatchObject({ status: "running", revision: 4 });
    s.close();
  });
});
