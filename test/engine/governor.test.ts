/**
 * #16 The Governor decides and never acts: each verdict of governor.ts, on plain jobs, with the
 * clock passed in. The engine side (pending.ts, runner.ts) is covered by test/governance/.
 */
import { describe, expect, it } from "vitest";
import type { Requirements } from "../../src/governance/policy.js";
import { Policy } from "../../src/governance/policy.js";
import type { CommandStatus, GovernanceState } from "../../src/lifecycle/status.js";
import { Governor, type Admission, type CommandLookup } from "../../src/engine/governor.js";
import type { Job } from "../../src/engine/job.js";
import { makeJob } from "../../src/engine/make-job.js";
import { PendingSet, type PendingLimits } from "../../src/engine/pending-limits.js";
import type { CommandEnvelope } from "../../src/protocol/types.js";

const NOW = 1_000_000;
const LIMITS: PendingLimits = { maxPending: 3, maxPendingPerActor: 2, maxScheduleAheadMs: 60_000, maxApprovalWindowMs: 30_000 };
const policy = Policy.parse(
  JSON.stringify({
    version: 1,
    adminRoles: ["admin"],
    rules: [
      { name: "no-drop", match: { type: "drop" }, effect: "deny", reason: "dropping is off" },
      { name: "deploys", match: { type: "deploy" }, effect: "require_approval", steps: [{ name: "ops", approvals: 2, approverRoles: ["ops"] }], expiresInMs: 60_000, onStale: "reject" },
    ],
  }),
  "policy.json",
);
const REQUIREMENTS: Requirements = { rules: ["deploys"], steps: [{ name: "ops", approvals: 2, approverRoles: ["ops"] }], allowRequester: false, expiresInMs: 60_000, onStale: "reject" };

let next = 0;
function job(over: { id?: string; type?: string; sessionId?: string | null; actor?: string; notBefore?: number | null; status?: Job["status"]; storeStatus?: CommandStatus; revision?: number; pendingReason?: Job["pendingReason"]; governance?: GovernanceState; finalStatus?: CommandStatus } = {}): Job {
  const sessionId = over.sessionId === undefined ? "s1" : over.sessionId;
  const j = makeJob({
    id: over.id ?? `c${++next}`,
    explicitId: true,
    def: undefined,
    type: over.type ?? "deploy",
    lane: sessionId === null ? "server" : `session:${sessionId}`,
    sessionId,
    envelope: { type: over.type ?? "deploy" },
    params: {},
    fingerprint: "fp",
    idempotencyKey: null,
    idempotencyScope: null,
    dependsOn: [],
    ifSessionVersion: undefined,
    actor: over.actor ?? "alice",
    roles: [],
    timeoutMs: 30_000,
    acceptedAt: NOW - 10,
    queuedAt: NOW - 10,
    tags: [],
    notBefore: over.notBefore ?? null,
    conn: null,
    replyId: undefined,
  });
  if (over.status) j.status = over.status;
  if (over.storeStatus) j.storeStatus = over.storeStatus;
  if (over.revision !== undefined) j.revision = over.revision;
  if (over.pendingReason) j.pendingReason = over.pendingReason;
  if (over.governance) j.governance = over.governance;
  if (over.finalStatus) j.finalStatus = over.finalStatus;
  return j;
}

function governance(over: Partial<GovernanceState> = {}): GovernanceState {
  return { policyVersion: policy.version, rules: ["deploys"], steps: [{ name: "ops", approvals: 2, approverRoles: ["ops"] }], step: 0, approvals: [], allowRequester: false, expiresInMs: 30_000, expiresAt: NOW + 30_000, onStale: "reject", expectedVersion: 4, renewals: 0, ...over };
}

/** A job waiting for approval, known to the lookup. */
function awaitingApproval(over: Parameters<typeof job>[0] = {}): Job {
  return job({ status: "pending", storeStatus: "pending", revision: 1, pendingReason: "approval", governance: governance(), ...over });
}

function governorOf(jobs: Job[] = [], stored: Record<string, { status: CommandStatus; revision?: number }> = {}): Governor {
  const lookup: CommandLookup = { job: (id) => jobs.find((j) => j.id === id), stored: (id) => stored[id] };
  return new Governor(policy, lookup, LIMITS);
}

/** JSON of a job's own fields: a decision must leave it as it was. */
const frozen = (j: Job): string => JSON.stringify({ ...j, dependents: [...j.dependents] });

const alice = { actor: "alice", roles: [] as string[] };
const env = (over: Partial<CommandEnvelope> = {}): CommandEnvelope => ({ type: "deploy", sessionId: "s1", ...over });
const open = { effect: "allow" } as const;

describe("#16 governor: admission verdicts", () => {
  it("#16 gate: a deny rule refuses forbidden, naming the actor, the reason and the rule; other verdicts pass", () => {
    const g = governorOf();
    expect(g.gate(alice, env({ type: "drop" }), "s1")).toEqual({ ok: false, rule: "no-drop", outcome: { command: "drop", success: false, code: "forbidden", error: "alice may not submit drop: dropping is off (policy rule no-drop)" } });
    expect(g.gate(alice, env(), "s1")).toMatchObject({ ok: true, verdict: { effect: "require_approval", requirements: { rules: ["deploys"] } } });
    expect(g.gate(alice, env({ type: "set" }), "s1")).toEqual({ ok: true, verdict: { effect: "allow" } });
  });

  it("#16 admit refuses a notBefore beyond maxScheduleAheadMs, and a full pending quota (busy)", () => {
    const g = governorOf();
    const far = g.admit(alice, env({ notBefore: NOW + 60_001 }), "s1", open, new PendingSet(), NOW);
    expect(far).toMatchObject({ ok: false, outcome: { code: "invalid_command", error: expect.stringContaining("maxScheduleAheadMs (60000 ms)") } });
    const full = new PendingSet();
    full.add(job({ actor: "alice" }));
    full.add(job({ actor: "alice" }));
    const verdict = { effect: "require_approval", requirements: REQUIREMENTS } as const;
    expect(g.admit(alice, env(), "s1", verdict, full, NOW)).toMatchObject({ ok: false, outcome: { code: "busy", error: expect.stringContaining("alice already has 2 commands pending") } });
    // not delayed: the quota does not apply
    expect(g.admit(alice, env(), "s1", open, full, NOW)).toEqual({ ok: true, requirements: null, supersedes: null });
    expect(g.admit(alice, env(), "s1", verdict, new PendingSet(), NOW)).toEqual({ ok: true, requirements: REQUIREMENTS, supersedes: null });
  });

  it("#16 admit checks supersedes: unknown, not pending, another type or session, another requester; an admin may", () => {
    const target = awaitingApproval({ id: "old" });
    const running = job({ id: "busy", status: "running", storeStatus: "running", revision: 1 });
    const g = governorOf([target, running], { gone: { status: "succeeded", revision: 2 } });
    const sup = (supersedes: string, over: Partial<CommandEnvelope> = {}, by = alice) => g.admit(by, env({ supersedes, ...over }), over.sessionId ?? "s1", open, new PendingSet(), NOW);
    expect(sup("nope")).toEqual({ ok: false, outcome: { command: "deploy", success: false, code: "command_not_found", error: "no command nope is known" } });
    expect(sup("gone")).toEqual({ ok: false, outcome: { command: "deploy", success: false, code: "transition_conflict", error: "command gone is succeeded (revision 2)", data: { commandId: "gone", status: "succeeded", revision: 2 } } });
    expect(sup("busy")).toMatchObject({ ok: false, outcome: { code: "transition_conflict", error: "command busy is running at revision 1: it is not pending, so it cannot be superseded" } });
    expect(sup("old", { sessionId: "s2" })).toMatchObject({ ok: false, outcome: { code: "supersede_mismatch", error: "command old is a deploy of s1; supersedes needs the same type and session" } });
    expect(sup("old", {}, { actor: "bob", roles: [] })).toMatchObject({ ok: false, outcome: { code: "forbidden", error: "only alice (the requester) or an admin may supersede old" } });
    expect(sup("old", {}, { actor: "root", roles: ["admin"] })).toEqual({ ok: true, requirements: null, supersedes: target });
  });

  it("#16 accepted: supersede verdict, the governance state (window capped, expected version), park for schedule or approval; the job is untouched", () => {
    const g = governorOf();
    const old = awaitingApproval({ id: "old" });
    const fresh = job({ id: "new" });
    const before = frozen(fresh);
    const admission: Admission & { ok: true } = { ok: true, requirements: REQUIREMENTS, supersedes: old };
    const plan = g.accepted(fresh, admission, NOW, 7);
    expect(frozen(fresh)).toBe(before);
    expect(plan.supersede).toEqual({ job: old, kind: "supersede", status: "superseded", outcome: { command: "deploy", success: false, code: "superseded", error: "superseded by command new" }, detail: { decision: { kind: "supersede", actor: "alice" }, supersededBy: "new" } });
    expect(plan.governance).toEqual({ policyVersion: policy.version, rules: ["deploys"], steps: REQUIREMENTS.steps, step: 0, approvals: [], allowRequester: false, expiresInMs: 30_000, expiresAt: NOW + 30_000, onStale: "reject", expectedVersion: 7, renewals: 0 });
    expect(plan.park).toEqual({ kind: "park", reason: "approval", phase: "pending", detail: { reason: "approval", governance: plan.governance } });

    const scheduled = job({ notBefore: NOW + 5 });
    expect(g.accepted(scheduled, { ok: true, requirements: null, supersedes: null }, NOW, null)).toEqual({
      supersede: null,
      governance: undefined,
      park: { kind: "park", reason: "schedule", phase: "pending", detail: { reason: "schedule", notBefore: NOW + 5 } },
    });
    expect(g.accepted(job({ notBefore: NOW }), { ok: true, requirements: null, supersedes: null }, NOW, null)).toEqual({ supersede: null, governance: undefined, park: null });
  });
});

describe("#16 governor: pending commands coming due", () => {
  it("#16 onDue: wait before the due time; release a schedule; approval next for a governed schedule; expire an approval", () => {
    const g = governorOf();
    const scheduled = job({ status: "pending", pendingReason: "schedule", notBefore: NOW + 10 });
    expect(g.due(scheduled)).toBe(NOW + 10);
    expect(g.onDue(scheduled, NOW + 9)).toEqual({ kind: "wait" });
    expect(g.onDue(scheduled, NOW + 10)).toEqual({ kind: "release" });

    const gov = governance({ expiresAt: 0 });
    const governed = job({ status: "pending", pendingReason: "schedule", notBefore: NOW, governance: gov });
    const before = frozen(governed);
    const next = { ...gov, expiresAt: NOW + 30_000 };
    expect(g.onDue(governed, NOW)).toEqual({ kind: "park", reason: "approval", phase: "pending", governance: next, detail: { reason: "approval", governance: next } });
    expect(frozen(governed)).toBe(before);

    const waiting = awaitingApproval({ governance: governance({ expiresAt: NOW, approvals: [{ actor: "o1", at: 1, step: 0, revision: 2 }] }) });
    expect(g.due(waiting)).toBe(NOW);
    expect(g.onDue(waiting, NOW - 1)).toEqual({ kind: "wait" });
    expect(g.onDue(waiting, NOW)).toEqual({
      kind: "expire",
      status: "expired",
      outcome: { command: "deploy", success: false, code: "expired", error: `approval expired at ${new Date(NOW).toISOString()} with 1 approval(s)` },
      detail: { decision: { kind: "expire", actor: "system" } },
    });
  });

  it("#16 checkStale: fresh at the approved version; revalidate, reject-stale or renew at another, per onStale", () => {
    const g = governorOf();
    const at = (onStale: GovernanceState["onStale"]) => job({ status: "queued", storeStatus: "approved", revision: 3, governance: governance({ onStale, expectedVersion: 4, step: 1, approvals: [{ actor: "o1", at: 1, step: 0, revision: 2 }] }) });
    expect(g.checkStale(at("reject"), 4, NOW)).toEqual({ kind: "fresh" });
    expect(g.checkStale(job(), 9, NOW)).toEqual({ kind: "fresh" });
    const stale = { stale: { expectedVersion: 4, sessionVersion: 5, onStale: "revalidate" } };
    expect(g.checkStale(at("revalidate"), 5, NOW)).toEqual({ kind: "revalidate", detail: { ...stale, revalidated: true } });
    expect(g.checkStale(at("reject"), 5, NOW)).toEqual({
      kind: "reject-stale",
      status: "failed",
      outcome: { command: "deploy", success: false, code: "version_conflict", error: "approved against session version 4, but session s1 is now at version 5; rejected as stale (onStale: reject)", sessionVersion: 5 },
      detail: { stale: { ...stale.stale, onStale: "reject" } },
    });
    const renewing = at("renew");
    const before = frozen(renewing);
    const renewed = { ...renewing.governance!, step: 0, approvals: [], expectedVersion: 5, expiresAt: NOW + 30_000, renewals: 1 };
    expect(g.checkStale(renewing, 5, NOW)).toEqual({
      kind: "park",
      reason: "approval",
      phase: "renewed",
      governance: renewed,
      detail: { reason: "approval", governance: renewed, stale: { ...stale.stale, onStale: "renew" }, decision: { kind: "renew", actor: "system" } },
      actor: "system",
    });
    expect(frozen(renewing)).toBe(before);
  });
});

describe("#16 governor: decisions", () => {
  const ops = (actor: string) => ({ actor, roles: ["ops"] });

  it("#16 approve: refusals for an unknown command, a stale revision, the wrong status, the requester", () => {
    const scheduled = job({ id: "sch", status: "pending", storeStatus: "pending", revision: 1, pendingReason: "schedule" });
    const target = awaitingApproval({ id: "t" });
    const g = governorOf([scheduled, target]);
    expect(g.approve(ops("o1"), { commandId: "nope" }, NOW)).toEqual({ kind: "refusal", outcome: { command: "approve_command", success: false, code: "command_not_found", error: "no command nope is known" } });
    expect(g.approve(ops("o1"), { commandId: "t", ifRevision: 0 }, NOW)).toEqual({
      kind: "refusal",
      outcome: { command: "approve_command", success: false, code: "transition_conflict", error: "command t is pending at revision 1: it is at revision 1, not 0", data: { commandId: "t", status: "pending", revision: 1 } },
    });
    expect(g.approve(ops("o1"), { commandId: "sch" }, NOW)).toMatchObject({ kind: "refusal", outcome: { code: "transition_conflict", error: "command sch is pending at revision 1: it is pending for schedule, not approval" } });
    expect(g.approve({ actor: "alice", roles: ["ops"] }, { commandId: "t" }, NOW)).toEqual({
      kind: "refusal",
      outcome: { command: "approve_command", success: false, code: "forbidden", error: "cannot approve t: alice requested this command and may not approve it" },
    });
  });

  it("#16 approve: a vote carries the next governance state; the last one needed approves; the job is untouched", () => {
    const target = awaitingApproval({ id: "t" });
    const g = governorOf([target]);
    const before = frozen(target);
    const first = g.approve(ops("o1"), { commandId: "t", comment: "ok" }, NOW);
    expect(frozen(target)).toBe(before);
    const vote1 = { actor: "o1", at: NOW, step: 0, revision: 2, comment: "ok" };
    expect(first).toEqual({
      kind: "vote",
      job: target,
      governance: { ...target.governance!, approvals: [vote1] },
      approved: false,
      actor: "o1",
      detail: { governance: { ...target.governance!, approvals: [vote1] }, decision: { kind: "approve", actor: "o1", step: 0, comment: "ok" } },
      approvedDetail: { decision: { kind: "approved", actor: "o1" } },
    });
    const once = awaitingApproval({ id: "t2", revision: 2, governance: governance({ approvals: [{ actor: "o1", at: 1, step: 0, revision: 2 }] }) });
    const last = governorOf([once]).approve(ops("o2"), { commandId: "t2" }, NOW);
    expect(last).toMatchObject({ kind: "vote", approved: true, governance: { step: 1, approvals: [{ actor: "o1" }, { actor: "o2", step: 0, revision: 3 }] }, detail: { decision: { kind: "approve", actor: "o2", step: 0 } } });
  });

  it("#16 reject: only the open step's role or an admin; the verdict finishes the command rejected", () => {
    const target = awaitingApproval({ id: "t" });
    const g = governorOf([target, job({ id: "q" })]);
    expect(g.reject({ actor: "bob", roles: [] }, { commandId: "t", reason: "no" })).toEqual({
      kind: "refusal",
      outcome: { command: "reject_command", success: false, code: "forbidden", error: "rejecting t needs role ops (the open step) or an admin role" },
    });
    expect(g.reject(ops("o1"), { commandId: "q", reason: "no" })).toMatchObject({ kind: "refusal", outcome: { code: "transition_conflict", error: expect.stringContaining("it is not pending approval") } });
    const before = frozen(target);
    expect(g.reject({ actor: "root", roles: ["admin"] }, { commandId: "t", reason: "too risky" })).toEqual({
      kind: "reject",
      job: target,
      status: "rejected",
      outcome: { command: "deploy", success: false, code: "rejected", error: "rejected by root: too risky" },
      detail: { decision: { kind: "reject", actor: "root", comment: "too risky", step: 0 } },
    });
    expect(frozen(target)).toBe(before);
  });

  it("#16 cancel: the requester or an admin, not once started or finished; the verdict finishes the command cancelled", () => {
    const queued = job({ id: "q" });
    const running = job({ id: "r", status: "running", storeStatus: "running", revision: 1 });
    const done = job({ id: "d", status: "finished", storeStatus: "succeeded", revision: 2, finalStatus: "succeeded" });
    const g = governorOf([queued, running, done]);
    expect(g.cancel({ actor: "bob", roles: [] }, { commandId: "q" })).toEqual({ kind: "refusal", outcome: { command: "cancel_command", success: false, code: "forbidden", error: "only alice (the requester) or an admin may cancel q" } });
    expect(g.cancel(alice, { commandId: "r" })).toMatchObject({ kind: "refusal", outcome: { code: "transition_conflict", error: "command r is running at revision 1: it has started (claimed); a running command cannot be cancelled" } });
    expect(g.cancel(alice, { commandId: "d" })).toMatchObject({ kind: "refusal", outcome: { code: "transition_conflict", error: "command d is succeeded at revision 2: it has finished", data: { status: "succeeded" } } });
    expect(g.cancel(alice, { commandId: "q", reason: "changed my mind" })).toEqual({
      kind: "cancel",
      job: queued,
      status: "cancelled",
      outcome: { command: "deploy", success: false, code: "cancelled", error: "cancelled by alice: changed my mind" },
      detail: { decision: { kind: "cancel", actor: "alice", comment: "changed my mind" } },
    });
    expect(g.cancel({ actor: "root", roles: ["admin"] }, { commandId: "q" })).toMatchObject({ kind: "cancel", outcome: { error: "cancelled by root" }, detail: { decision: { kind: "cancel", actor: "root" } } });
    expect(queued.status).toBe("queued");
  });
});
