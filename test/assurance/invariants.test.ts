/**
 * Issue #6 (Level 5) invariant suite. fast-check generates workload shapes (clients, sessions,
 * phases, burst sizes, timeout rates, deletes on/off, the workload seed); each runs against the
 * real server over WebSocket and the observed event streams and the journal are checked for:
 * dependency causality; deterministic per-lane order; sessionVersion monotonic and gap-free on
 * success; exactly one command_finished per admitted command; same id → same outcome; a
 * timed-out command never started (test/model/invariants.ts), plus the reference model.
 *
 * Replay: FC_SEED=<seed> npx vitest run test/assurance/invariants.test.ts (printed below);
 * FC_RUNS (default 40) runs per property.
 *
 * The second block shows that every checker can fail: it corrupts a real journal / event stream
 * in one way at a time and expects exactly the invariant it breaks to be named; its journal also
 * holds a short pipelined script of issue #14's rules (one lane per session, server-wide keys for
 * server commands, ifSessionVersion on delete_session and refused elsewhere), checked directly.
 */
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Campaign } from "../model/campaign.js";
import { generate, type Workload } from "../model/generator.js";
import { checkClientOrder, checkEventsMatchJournal, checkResumedStream, checkSendOrder, JournalInvariants } from "../model/invariants.js";
import { identityOf, ReferenceModel } from "../model/model.js";
import type { SendResult } from "../model/responses.js";
import { generatedSessionId } from "../model/rules.js";
import { JournalReader, Peer } from "../model/harness.js";
import { spawnServer, tempDir } from "../helpers/spawn.js";
import type { Row, Send } from "../model/types.js";
import { fmtViolations } from "../model/types.js";

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
const runs = Number(process.env.FC_RUNS ?? 40);
const REPLAY = `FC_SEED=${seed} npx vitest run test/assurance/invariants.test.ts`;
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

/**
 * Issue #14: the rules pi-server compatibility changed, in one short pipelined script of one
 * client (no barriers, no dependsOn): a create without `sessionId` (a generated id) with an
 * idempotency key, then a write and a read of that session behind it; server commands share one
 * key scope, session commands do not; ifSessionVersion on delete_session is checked, on
 * create_session refused; a command of a deleted session fails without running.
 */
function rulesScript(prefix: string, existing: string): { wl: Workload; expected: Record<string, Record<string, unknown>> } {
  const gen = generatedSessionId(`${prefix}-gen`);
  const key = `${prefix}-key`;
  const envs: Array<Send["env"]> = [
    { type: "create_session", id: `${prefix}-gen`, idempotencyKey: key },
    { type: "set", id: `${prefix}-set`, sessionId: gen, path: "/x", value: 1 },
    { type: "get_state", id: `${prefix}-get`, sessionId: gen, dependsOn: [] },
    { type: "list_sessions", id: `${prefix}-list` },
    { type: "health_check", id: `${prefix}-health`, idempotencyKey: key },
    { type: "set", id: `${prefix}-other`, sessionId: existing, path: "/k", value: 1, idempotencyKey: key },
    { type: "switch_session", id: `${prefix}-switch`, sessionId: gen },
    { type: "create_session", id: `${prefix}-ifv`, sessionId: `${prefix}-never`, ifSessionVersion: 0 },
    { type: "delete_session", id: `${prefix}-del-stale`, sessionId: gen, ifSessionVersion: 0 },
    { type: "delete_session", id: `${prefix}-del`, sessionId: gen, ifSessionVersion: 1, dependsOn: [`${prefix}-set`, `${prefix}-set`] },
    { type: "get_state", id: `${prefix}-after`, sessionId: gen },
  ];
  const sends = envs.map((env, index) => ({ client: 0, index, env, racyDeps: false }));
  const expected: Record<string, Record<string, unknown>> = {
    [`${prefix}-gen`]: { success: true, sessionVersion: 0, data: { sessionId: gen } },
    [`${prefix}-set`]: { success: true, sessionVersion: 1 },
    [`${prefix}-get`]: { success: true, sessionVersion: 1, data: { state: { x: 1 } } },
    [`${prefix}-list`]: { success: true },
    [`${prefix}-health`]: { success: false, code: "replay_conflict" },
    [`${prefix}-other`]: { success: true },
    [`${prefix}-switch`]: { success: true, sessionVersion: 1 },
    [`${prefix}-ifv`]: { success: false, code: "invalid_command" },
    [`${prefix}-del-stale`]: { success: false, code: "version_conflict", sessionVersion: 1 },
    [`${prefix}-del`]: { success: true, sessionVersion: undefined },
    [`${prefix}-after`]: { success: false, code: "session_not_found" },
  };
  return { wl: { seed: 0, clients: 1, sessions: [gen], steps: [...sends.map((send) => ({ kind: "send" as const, send })), { kind: "barrier" }], sends }, expected };
}

describe("every checker can fail: one corruption at a time is named", () => {
  let rows: Row[] = [];
  let events: Array<Record<string, any>> = [];
  let sends: Send[] = [];
  let clientFrames: Array<Record<string, any>> = [];
  let script: SendResult[] = [];
  let expected: Record<string, Record<string, unknown>> = {};

  beforeAll(async () => {
    const c = await Campaign.start();
    try {
      const wl = generate(7, { prefix: "corrupt", clients: [3, 3], sessions: [2, 2], phases: [3, 3], perClient: [8, 8], timeoutRate: 0, deletes: false });
      const from = c.observer.frames.length;
      const report = await c.check(wl, {});
      expect(report.violations).toEqual([]);
      const rules = rulesScript("rules", wl.sessions[0]!);
      const second = await c.check(rules.wl, {});
      expect(second.violations).toEqual([]);
      script = second.results;
      expected = rules.expected;
      rows = c.reader.after(0);
      events = c.observer.frames.slice(from);
      sends = [...wl.sends, ...rules.wl.sends, ...c.harnessSends];
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
  const modelOf = (rs: Row[], ss = sends): ReferenceModel => {
    const m = new ReferenceModel();
    m.addSends(ss);
    m.ingest(rs);
    return m;
  };
  const model = (rs: Row[], ss = sends): string[] => [...new Set(modelOf(rs, ss).violations.map((v) => v.invariant))];
  const idx = (id: string, phase: Row["phase"]): number => first((r) => r.commandId === id && r.phase === phase);
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

  it("#14 the pipelined script gets pi-server's answers: one lane per session, server-wide keys, ifSessionVersion rules", () => {
    for (const { send, response } of script) {
      const f = response?.frame ?? {};
      const want = expected[send.env.id]!;
      for (const [k, v] of Object.entries(want)) {
        if (k === "data") expect(f.data, send.env.id).toMatchObject(v as object);
        else expect(f[k], `${send.env.id}.${k}`).toEqual(v);
      }
    }
    const gen = generatedSessionId("rules-gen");
    const accepted = (id: string): Row => rows[idx(id, "accepted")]!;
    for (const id of ["rules-gen", "rules-set", "rules-get", "rules-switch", "rules-del"]) expect(accepted(id).lane, id).toBe(`session:${gen}`);
    for (const id of ["rules-list"]) expect(accepted(id).lane, id).toBe("server");
    expect(accepted("rules-gen").idempotencyScope).toBe("server");
    expect(accepted("rules-other").idempotencyScope).toBe(accepted("rules-other").lane);
    // refused at admission: no journal row, no lifecycle event
    expect(rows.some((r) => r.commandId === "rules-ifv")).toBe(false);
    expect(events.some((e) => e.data?.commandId === "rules-ifv")).toBe(false);
    expect(accepted("rules-del").dependsOn).toEqual(["rules-set"]);
  });

  it("#14 lane_of_command: a create_session journaled in the server lane", () => {
    const mutated = renumber(rows.map((r) => (r.commandId === "rules-gen" ? { ...r, lane: "server" } : r)));
    expect(model(mutated)).toContain("lane_of_command");
  });

  it("#14 lane_of_command: a session's command journaled with another session", () => {
    const i = idx("rules-switch", "accepted");
    expect(model(rows.map((r, j) => (j === i ? { ...r, sessionId: null } : r)))).toContain("lane_of_command");
  });

  it("#14 idempotency_key_scope: a server command's key scoped to its session lane", () => {
    const i = idx("rules-gen", "accepted");
    expect(model(rows.map((r, j) => (j === i ? { ...r, idempotencyScope: r.lane } : r)))).toContain("idempotency_key_scope");
  });

  it("#14 idempotency_key_unique: a server command executes with a key another server command holds", () => {
    // the health_check that conflicted on the create's key, journaled as an admission instead
    const c = rows[idx("rules-health", "conflict")]!;
    const send = sends.find((s) => s.env.id === "rules-health")!;
    const admitted: Row = { ...c, phase: "accepted", outcome: null, detail: null, idempotencyKey: "rules-key", idempotencyScope: "server", fingerprint: identityOf(send.env), params: {}, dependsOn: null, ifSessionVersion: null, timeoutMs: null };
    const finished: Row = { ...c, phase: "finished", outcome: { command: "health_check", success: true, data: {} }, detail: null };
    const at = rows.indexOf(c);
    const mutated = renumber([...rows.slice(0, at), admitted, finished, ...rows.slice(at + 1)]);
    expect(model(mutated)).toContain("idempotency_key_unique");
  });

  it("#14 if_session_version_refused: a create_session carrying ifSessionVersion is admitted", () => {
    const i = idx("rules-gen", "accepted");
    const told = sends.map((s) => (s.env.id === "rules-gen" ? { ...s, env: { ...s.env, ifSessionVersion: 0 } } : s));
    expect(model(rows.map((r, j) => (j === i ? { ...r, ifSessionVersion: 0, fingerprint: identityOf(told.find((s) => s.env.id === "rules-gen")!.env) } : r)), told)).toContain("if_session_version_refused");
  });

  it("#14 if_session_version: a delete_session with a stale ifSessionVersion runs", () => {
    const i = idx("rules-del", "accepted");
    const told = sends.map((s) => (s.env.id === "rules-del" ? { ...s, env: { ...s.env, ifSessionVersion: 0 } } : s));
    const mutated = rows.map((r, j) => (j === i ? { ...r, ifSessionVersion: 0, fingerprint: identityOf(told.find((s) => s.env.id === "rules-del")!.env) } : r));
    expect(model(mutated, told)).toContain("if_session_version");
  });

  it("#14 admitted_as_sent: an accepted row whose fingerprint no frame has", () => {
    const i = idx("rules-get", "accepted");
    // the frame had dependsOn: [] (part of the fingerprint); the same envelope without it is another intent
    const { dependsOn: _d, ...plain } = sends.find((s) => s.env.id === "rules-get")!.env;
    expect(model(rows.map((r, j) => (j === i ? { ...r, fingerprint: identityOf(plain) } : r)))).toContain("admitted_as_sent");
  });

  it("#14 session_version: a create_session without its sessionVersion 0, a delete_session with one", () => {
    const c = idx("rules-gen", "finished");
    const noVersion = rows.map((r, j) => (j === c ? { ...r, outcome: { ...r.outcome, sessionVersion: undefined } } : r));
    expect(journal(noVersion)).toContain("session_version");
    expect(model(noVersion)).toContain("outcome_drift");
    const d = idx("rules-del", "finished");
    const withVersion = rows.map((r, j) => (j === d ? { ...r, outcome: { ...r.outcome, sessionVersion: 1 } } : r));
    expect(journal(withVersion)).toContain("session_version");
    expect(model(withVersion)).toContain("outcome_drift");
  });

  it("#14 outcome_drift (rule 10): list_sessions answers a table that never stood between its started and finished rows", () => {
    const i = idx("rules-list", "finished");
    const forged = (data: Record<string, any>): string[] => model(rows.map((r, j) => (j === i ? { ...r, outcome: { ...r.outcome, data } } : r)));
    const real = rows[i]!.outcome!.data as { sessions: Array<{ sessionId: string; sessionVersion: number; createdAt: number }>; count: number };
    expect(forged(real)).toEqual([]);
    // a session missing, or listed at a version it did not have
    expect(forged({ sessions: real.sessions.slice(1), count: real.count - 1 })).toContain("outcome_drift");
    expect(forged({ sessions: real.sessions.map((e, k) => (k === 0 ? { ...e, sessionVersion: e.sessionVersion + 7 } : e)), count: real.count })).toContain("outcome_drift");
  });

  it("#14 events_match_journal: a lifecycle event without dependsOn", () => {
    const i = events.findIndex((e) => e.type === "command_accepted" && e.data.dependsOn?.length === 0);
    expect(i).toBeGreaterThanOrEqual(0);
    expect(checkEventsMatchJournal(rows, events)).toEqual([]);
    const { dependsOn: _d, ...data } = events[i]!.data;
    expect(checkEventsMatchJournal(rows, events.map((e, j) => (j === i ? { ...e, data } : e))).map((v) => v.invariant)).toContain("events_match_journal");
  });

  it("#14 admission_order: one connection's frames admitted out of the order it sent them", () => {
    const m = modelOf(rows);
    expect(checkSendOrder(m, script)).toEqual([]);
    const swapped = [...script];
    [swapped[1], swapped[2]] = [swapped[2]!, swapped[1]!];
    expect(checkSendOrder(m, swapped).map((v) => v.invariant)).toContain("admission_order");
  });

  it("#14 resumed_stream: after a subscribe {fromSeq} response, every later row once, in order", () => {
    const seqd = events.filter((e) => typeof e.data?.seq === "number");
    const from = (seqd[0]!.data.seq as number) - 1;
    const since = rows.filter((r) => r.seq > from);
    const live = { type: "subscription_live", data: { fromSeq: from, replayedThroughSeq: since[since.length - 1]!.seq, lastSeq: since[since.length - 1]!.seq } };
    const stream = [{ type: "response", id: "sub", success: true }, ...seqd, live];
    expect(checkResumedStream(since, stream, "sub")).toEqual([]);
    // the replay began before the response (the old order), an event twice, or one missing
    const early = [seqd[0]!, { type: "response", id: "sub", success: true }, ...seqd.slice(1), live];
    expect(checkResumedStream(since, early, "sub").map((v) => v.invariant)).toContain("resumed_stream");
    expect(checkResumedStream(since, [...stream.slice(0, 3), stream[2]!, ...stream.slice(3)], "sub").map((v) => v.invariant)).toContain("resumed_stream");
    expect(checkResumedStream(since, stream.filter((_, j) => j !== 4), "sub").map((v) => v.invariant)).toContain("resumed_stream");
  });
});

describe("#14 a create_session with neither id nor sessionId", () => {
  it("gets a generated command id cmd_<uuid>, and its session id and lane derive from it", async () => {
    const db = join(tempDir("causeway-l5-anon-"), "j.db");
    const server = await spawnServer({ db, commands: false });
    const reader = { r: undefined as JournalReader | undefined };
    try {
      const p = await Peer.connect(server.url);
      p.send({ type: "create_session" });
      const res = await p.next((f) => f.type === "response" && f.command === "create_session");
      expect(res).toMatchObject({ success: true, sessionVersion: 0 });
      expect(res.id).toBeUndefined();
      reader.r = new JournalReader(db);
      const accepted = reader.r.after(0).filter((r) => r.type === "create_session" && r.phase === "accepted");
      expect(accepted).toHaveLength(1);
      const { commandId, sessionId, lane } = accepted[0]!;
      expect(commandId).toMatch(/^cmd_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(sessionId).toBe(generatedSessionId(commandId));
      expect(lane).toBe(`session:${sessionId}`);
      expect(res.data.sessionId).toBe(sessionId);
      await p.close();
    } finally {
      reader.r?.close();
      await server.stop();
    }
  }, 60_000);
});
