/**
 * Issue #6 (Level 5) invariant suite. fast-check generates workload shapes (clients, sessions,
 * phases, burst sizes, timeout rates, deletes on/off, the workload seed); each runs against the
 * real server over WebSocket and the observed event streams and the journal are checked for:
 * dependency causality; deterministic per-lane order; sessionVersion monotonic and gap-free on
 * success; exactly one command_finished per admitted command; same id → same outcome; a
 * timed-out command never started (test/model/invariants.ts), plus the reference model.
 *
 * Replay: FC_SEED=<seed> npx vitest run test/level5/invariants.test.ts (printed below);
 * FC_RUNS (default 40) runs per property.
 *
 * The second block shows that every checker can fail: it corrupts a real journal / event stream
 * in one way at a time and expects exactly the invariant it breaks to be named.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Campaign } from "../model/campaign.js";
import { generate } from "../model/generator.js";
import { checkClientOrder, checkEventsMatchJournal, JournalInvariants } from "../model/invariants.js";
import { ReferenceModel } from "../model/model.js";
import type { Row, Send } from "../model/types.js";
import { fmtViolations } from "../model/types.js";

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
const runs = Number(process.env.FC_RUNS ?? 40);
const REPLAY = `FC_SEED=${seed} npx vitest run test/level5/invariants.test.ts`;
console.log(`fast-check seed ${seed} (replay: ${REPLAY})`);

let campaign: Campaign;
beforeAll(async () => {
  campaign = await Campaign.start();
});
afterAll(async () => {
  await campaign?.stop();
  campaign?.close();
});

let run = 0;

describe("invariants over observed event streams and the journal (fast-check)", () => {
  it("hold for generated multi-client workloads", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          wseed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          clients: fc.integer({ min: 1, max: 5 }),
          sessions: fc.integer({ min: 1, max: 4 }),
          phases: fc.integer({ min: 1, max: 4 }),
          perClient: fc.integer({ min: 1, max: 14 }),
          timeoutRate: fc.constantFrom(0, 0.04, 0.25),
          deletes: fc.boolean(),
        }),
        async (p) => {
          const wl = generate(p.wseed, {
            prefix: `p${++run}-${p.wseed}`,
            clients: [p.clients, p.clients],
            sessions: [p.sessions, p.sessions],
            phases: [p.phases, p.phases],
            perClient: [1, p.perClient],
            timeoutRate: p.timeoutRate,
            deletes: p.deletes,
          });
          const report = await campaign.check(wl, {});
          if (report.violations.length > 0) console.error(`${JSON.stringify(p)}\n${fmtViolations(report.violations)}\n${REPLAY}`);
          expect(report.violations.map((v) => `[${v.invariant}] ${v.message}`)).toEqual([]);
        },
      ),
      { seed, numRuns: runs, endOnFailure: true },
    );
  }, 600_000);
});

describe("every checker can fail: one corruption at a time is named", () => {
  let rows: Row[] = [];
  let events: Array<Record<string, any>> = [];
  let sends: Send[] = [];
  let clientFrames: Array<Record<string, any>> = [];

  beforeAll(async () => {
    const c = await Campaign.start();
    try {
      const wl = generate(7, { prefix: "corrupt", clients: [3, 3], sessions: [2, 2], phases: [3, 3], perClient: [8, 8], timeoutRate: 0, deletes: false });
      const from = c.observer.frames.length;
      const report = await c.check(wl, {});
      expect(report.violations).toEqual([]);
      rows = c.reader.after(0);
      events = c.observer.frames.slice(from);
      sends = wl.sends;
      clientFrames = [];
    } finally {
      await c.stop();
      c.close();
    }
    // a client's frames for the lifecycle check, rebuilt from the observer (its own commands)
    clientFrames = events.filter((e) => e.type.startsWith("command_") && !e.data.replayed && sends.some((s) => s.client === 0 && s.env.id === e.data.commandId));
  }, 60_000);

  const journal = (rs: Row[]): string[] => {
    const inv = new JournalInvariants();
    inv.ingest(rs);
    inv.quiescent();
    return [...new Set(inv.violations.map((v) => v.invariant))];
  };
  const model = (rs: Row[]): string[] => {
    const m = new ReferenceModel();
    m.addSends(sends);
    m.ingest(rs);
    return [...new Set(m.violations.map((v) => v.invariant))];
  };
  const renumber = (rs: Row[]): Row[] => {
    const lanes = new Map<string, number>();
    return rs.map((r, i) => {
      const n = (lanes.get(r.lane) ?? 0) + 1;
      lanes.set(r.lane, n);
      return { ...r, seq: i + 1, laneSeq: n };
    });
  };
  const first = (pred: (r: Row) => boolean): number => {
    const i = rows.findIndex(pred);
    expect(i, "the clean journal has the feature this corruption needs").toBeGreaterThanOrEqual(0);
    return i;
  };

  it("the clean journal passes every checker", () => {
    expect(journal(rows)).toEqual([]);
    expect(model(rows)).toEqual([]);
    expect(checkEventsMatchJournal(rows, events)).toEqual([]);
  });

  it("lane_order: a missing row leaves a laneSequence gap", () => {
    const i = first((r) => r.phase === "started");
    expect(journal(rows.filter((_, j) => j !== i))).toContain("lane_order");
  });

  it("lane_order / lane_fifo: a lane's commands start out of admission order", () => {
    // move the first `started` of a lane whose next command is queued behind it to after the second's start
    const lane = rows.find((r) => r.phase === "started" && r.lane.startsWith("session:"))!.lane;
    const starts = rows.filter((r) => r.lane === lane && r.phase === "started");
    const firstStart = rows.indexOf(starts[0]!);
    const fin = rows.findIndex((r) => r.commandId === starts[0]!.commandId && r.phase === "finished");
    const moved = [...rows];
    const [a] = moved.splice(firstStart, 1);
    const [f] = moved.splice(fin - 1, 1);
    const at = moved.indexOf(starts[1]!) + 1;
    moved.splice(at, 0, a!, f!);
    const names = [...journal(renumber(moved)), ...model(renumber(moved))];
    expect(names.some((n) => n === "lane_order" || n === "lane_fifo")).toBe(true);
  });

  it("dependency_causality: a dependent starts before its dependency succeeded", () => {
    const dep = rows.find((r) => r.phase === "accepted" && (r.dependsOn ?? []).length > 0 && rows.some((s) => s.phase === "started" && s.commandId === r.commandId));
    expect(dep).toBeDefined();
    const d = dep!.dependsOn![0]!;
    const fin = rows.findIndex((r) => r.commandId === d && r.phase === "finished");
    const mutated = rows.map((r, j) => (j === fin ? { ...r, outcome: { ...r.outcome, success: false, code: "handler_error", error: "x", data: undefined } } : r));
    expect(journal(mutated)).toContain("dependency_causality");
    expect(model(mutated)).toContain("dependency_causality");
  });

  it("session_version: a successful write skips a version", () => {
    const i = first((r) => r.phase === "finished" && r.type === "set" && r.outcome?.success === true);
    const mutated = rows.map((r, j) => (j === i ? { ...r, outcome: { ...r.outcome, sessionVersion: r.outcome!.sessionVersion + 1 } } : r));
    expect(journal(mutated)).toContain("session_version");
    expect(model(mutated)).toContain("outcome_drift");
  });

  it("one_finished_per_admitted: a second finished row, and a missing one", () => {
    const i = first((r) => r.phase === "finished");
    expect(journal(renumber([...rows, rows[i]!]))).toContain("one_finished_per_admitted");
    expect(journal(renumber(rows.filter((_, j) => j !== i)))).toContain("one_finished_per_admitted");
  });

  it("same_id_same_outcome: a replay answers something else", () => {
    const i = first((r) => r.phase === "replayed");
    const mutated = rows.map((r, j) => (j === i ? { ...r, outcome: { ...r.outcome, success: !r.outcome!.success } } : r));
    expect(journal(mutated)).toContain("same_id_same_outcome");
    expect(model(mutated)).toContain("same_id_same_outcome");
  });

  it("timeout_never_started: a command starts after its deadline", () => {
    const i = rows.findIndex((r, j) => r.phase === "started" && j > 0 && rows[j - 1]!.commandId !== r.commandId);
    expect(i).toBeGreaterThan(0);
    const acc = rows.find((r) => r.commandId === rows[i]!.commandId && r.phase === "accepted")!;
    const deadline = acc.recordedAt + acc.timeoutMs!;
    // the row that made it the lane head was already past the deadline: never the known race
    const late = rows.map((r, j) => (j === i ? { ...r, recordedAt: deadline + 50 } : j === i - 1 ? { ...r, recordedAt: deadline + 40 } : r));
    expect(journal(late)).toContain("timeout_never_started");
    expect(model(late)).toContain("timeout_never_started");
    // just after the deadline, right after a row recorded before it (the race fixed in 7a980af)
    const racy = rows.map((r, j) => (j === i ? { ...r, recordedAt: deadline + 1 } : j === i - 1 ? { ...r, recordedAt: deadline - 1 } : r));
    expect(journal(racy)).toContain("timeout_never_started");
    expect(model(racy)).toContain("timeout_never_started");
  });

  it("if_session_version: a command with a stale ifSessionVersion starts", () => {
    const i = first((r) => r.phase === "accepted" && r.ifSessionVersion === null && r.type === "set" && rows.some((s) => s.phase === "started" && s.commandId === r.commandId));
    const mutated = rows.map((r, j) => (j === i ? { ...r, ifSessionVersion: 999 } : r));
    // the frame the model knows was sent had no ifSessionVersion: tell it this one did
    const m = new ReferenceModel();
    m.addSends(sends.map((s) => (s.env.id === rows[i]!.commandId ? { ...s, env: { ...s.env, ifSessionVersion: 999 } } : s)));
    m.ingest(mutated);
    expect(m.violations.map((v) => v.invariant)).toContain("if_session_version");
  });

  it("outcome_drift: a journaled result differs from the model's", () => {
    const i = first((r) => r.phase === "finished" && r.type === "get_state" && r.outcome?.success === true);
    const mutated = rows.map((r, j) => (j === i ? { ...r, outcome: { ...r.outcome, data: { state: { forged: true } } } } : r));
    expect(model(mutated)).toContain("outcome_drift");
  });

  it("events_match_journal: an event is lost, or reports another outcome", () => {
    const i = events.findIndex((e) => e.type === "command_finished" && !e.data.replayed);
    expect(checkEventsMatchJournal(rows, events.filter((_, j) => j !== i)).map((v) => v.invariant)).toContain("events_match_journal");
    const forged = events.map((e, j) => (j === i ? { ...e, data: { ...e.data, success: !e.data.success } } : e));
    expect(checkEventsMatchJournal(rows, forged).map((v) => v.invariant)).toContain("events_match_journal");
  });

  it("lifecycle_order: a connection hears command_finished before command_started", () => {
    const id = clientFrames.find((e) => e.type === "command_started")!.data.commandId;
    const reordered = clientFrames.filter((e) => !(e.data.commandId === id && e.type === "command_started"));
    const fin = reordered.findIndex((e) => e.data.commandId === id && e.type === "command_finished");
    reordered.splice(fin + 1, 0, clientFrames.find((e) => e.data.commandId === id && e.type === "command_started")!);
    expect(checkClientOrder(0, clientFrames)).toEqual([]);
    expect(checkClientOrder(0, reordered).map((v) => v.invariant)).toContain("lifecycle_order");
  });
});
