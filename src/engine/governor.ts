/**
 * Governance decisions, and nothing else: every method reads a command (and the clock it is given)
 * and returns a verdict. The engine applies verdicts (pending.ts, runner.ts): it changes statuses,
 * journals transitions, arms timers and finishes commands; the Governor never touches a job.
 *
 * - admission: the role gate and the policy verdict (`forbidden` on deny), `supersedes` checks,
 *   and the bounds on pending commands (pending-limits.ts: notBefore horizon, per-actor and global
 *   quotas, approval window cap);
 * - after the accepted row: a governed or scheduled command is parked `pending` OUTSIDE its lane
 *   (commands behind it run); it joins the lane queue only when approved (or when its `notBefore`
 *   comes), and its `ifSessionVersion` and staleness are checked at the lane head then;
 * - when a pending command comes due: release it (schedule), ask for approval next, or expire it;
 * - decisions (approve / reject / cancel): who may, on which status and revision; the loser of a
 *   race gets `transition_conflict` with the current status and revision.
 */
import type { Policy, Requirements, Verdict } from "../governance/policy.js";
import { castVote } from "../governance/votes.js";
import type { CommandStatus, GovernanceState, PendingReason } from "../lifecycle/status.js";
import type { ErrorCode } from "../protocol/errors.js";
import { failure } from "../protocol/frames.js";
import type { CommandEnvelope, Outcome } from "../protocol/types.js";
import type { Job } from "./job.js";
import { approvalWindow, quotaRefusal, scheduleRefusal, UNBOUNDED_PENDING, type PendingLimits, type PendingSet } from "./pending-limits.js";

/** Who acts: the actor and roles of a submission, or of the command that carries a decision. */
export interface Decider {
  actor: string;
  roles: readonly string[];
}

/** What decisions read: commands in memory, and the store's word on the others. */
export interface CommandLookup {
  job(commandId: string): Job | undefined;
  stored(commandId: string): { status: CommandStatus; revision?: number } | undefined;
}

export type Allowed = Exclude<Verdict, { effect: "deny" }>;

export type Gate = { ok: true; verdict: Allowed } | { ok: false; outcome: Outcome; rule: string };

export type Admission = { ok: true; requirements: Requirements | null; supersedes: Job | null } | { ok: false; outcome: Outcome };

/** Finish the command with this outcome (the detail goes on its `finished` row). */
export interface Finish {
  kind: "supersede" | "expire" | "reject" | "cancel" | "reject-stale";
  status: CommandStatus;
  outcome: Outcome;
  detail: Record<string, unknown>;
}

/** Park the command outside its lane: status `pending`, a `pending` (or `renewed`) row with `detail`. */
export interface Park {
  kind: "park";
  reason: PendingReason;
  phase: "pending" | "renewed";
  /** the governance state to hold from now on (unchanged when absent) */
  governance?: GovernanceState;
  /** the row's detail: reason, governance, schedule, staleness, decision */
  detail: Record<string, unknown>;
  /** who the row names (default: the requester) */
  actor?: string;
}

/** After the accepted row: the pending command it supersedes, its governance, and whether it parks. */
export interface AcceptPlan {
  supersede: (Finish & { job: Job }) | null;
  governance: GovernanceState | undefined;
  park: Park | null;
}

/** A pending command's timer fired. */
export type DueVerdict = { kind: "wait" } | { kind: "release" } | Park | Finish;

/** An approved command reached its lane head. */
export type StaleVerdict = { kind: "fresh" } | { kind: "revalidate"; detail: Record<string, unknown> } | Park | Finish;

export type Refusal = { kind: "refusal"; outcome: Outcome };

/** An approval vote: the next governance state; `approved` when it was the last one needed. */
export interface Vote {
  kind: "vote";
  job: Job;
  governance: GovernanceState;
  approved: boolean;
  actor: string;
  /** the `approval` row's detail, and the `approved` row's when approved */
  detail: Record<string, unknown>;
  approvedDetail: Record<string, unknown>;
}

export type DecisionVerdict<V> = Refusal | V;

export class Governor {
  constructor(
    private readonly policy: Policy,
    private readonly lookup: CommandLookup,
    private readonly limits: PendingLimits = UNBOUNDED_PENDING,
  ) {}

  // ------------------------------------------------------------------ admission

  /**
   * The policy's verdict on a submission: the role gate and deny rules (`forbidden`). Checked
   * before replay, so an actor the policy refuses never receives a stored outcome either.
   */
  gate(by: Decider, env: CommandEnvelope, sessionId: string | null): Gate {
    const verdict = this.policy.evaluate({ type: env.type, sessionId, tags: env.tags ?? [], roles: by.roles });
    if (verdict.effect !== "deny") return { ok: true, verdict };
    return { ok: false, rule: verdict.rule, outcome: failure(env.type, "forbidden", `${by.actor} may not submit ${env.type}: ${verdict.reason} (policy rule ${verdict.rule})`) };
  }

  /** Admission after the gate: schedule horizon, supersedes, pending quotas. */
  admit(by: Decider, env: CommandEnvelope, sessionId: string | null, verdict: Allowed, pending: PendingSet, now: number): Admission {
    const requirements = verdict.effect === "require_approval" ? verdict.requirements : null;
    const tooFar = scheduleRefusal(env, now, this.limits);
    if (tooFar) return { ok: false, outcome: tooFar };
    const replaces = this.supersedeTarget(by, env, sessionId);
    if ("outcome" in replaces) return { ok: false, outcome: replaces.outcome };
    const delayed = requirements !== null || (typeof env.notBefore === "number" && env.notBefore > now);
    const full = delayed ? quotaRefusal(env, by.actor, pending, this.limits, replaces.job) : null;
    if (full) return { ok: false, outcome: full };
    return { ok: true, requirements, supersedes: replaces.job };
  }

  /** The pending command `supersedes` names, if the new command may replace it. */
  private supersedeTarget(by: Decider, env: CommandEnvelope, sessionId: string | null): { job: Job | null } | { outcome: Outcome } {
    if (env.supersedes === undefined) return { job: null };
    const target = this.lookup.job(env.supersedes);
    if (!target) return { outcome: this.notPending(env.type, env.supersedes) };
    if (target.status !== "pending") return { outcome: conflict(env.type, target, "it is not pending, so it cannot be superseded") };
    if (target.type !== env.type || target.sessionId !== sessionId) {
      return { outcome: failure(env.type, "supersede_mismatch", `command ${target.id} is a ${target.type} of ${target.sessionId ?? "the server lane"}; supersedes needs the same type and session`) };
    }
    if (target.actor !== by.actor && !this.isAdmin(by.roles)) {
      return { outcome: failure(env.type, "forbidden", `only ${target.actor} (the requester) or an admin may supersede ${target.id}`) };
    }
    return { job: target };
  }

  /**
   * After the accepted row: the command it supersedes is finished, a governed one gets its
   * governance state (`sessionVersion`: its session's version now), and it parks if it must wait.
   */
  accepted(job: Job, admission: Admission & { ok: true }, now: number, sessionVersion: number | null): AcceptPlan {
    const old = admission.supersedes;
    const supersede = old && { job: old, kind: "supersede" as const, status: "superseded" as const, outcome: failure(old.type, "superseded", `superseded by command ${job.id}`), detail: { decision: { kind: "supersede", actor: job.actor }, supersededBy: job.id } };
    const r = admission.requirements;
    const windowMs = r ? approvalWindow(r.expiresInMs, this.limits) : 0;
    const governance: GovernanceState | undefined = r
      ? { policyVersion: this.policy.version, rules: r.rules, steps: r.steps, step: 0, approvals: [], allowRequester: r.allowRequester, expiresInMs: windowMs, expiresAt: now + windowMs, onStale: r.onStale, expectedVersion: sessionVersion, renewals: 0 }
      : undefined;
    let park: Park | null = null;
    if (job.notBefore !== null && job.notBefore > now) park = parked("schedule", { notBefore: job.notBefore, ...(governance ? { governance } : {}) });
    else if (governance) park = parked("approval", { governance });
    return { supersede, governance, park };
  }

  // ------------------------------------------------------------------ pending commands

  /** When a pending command comes due: its schedule, or the end of its approval window. */
  due(job: Job): number {
    return job.pendingReason === "schedule" ? (job.notBefore ?? 0) : (job.governance?.expiresAt ?? Number.POSITIVE_INFINITY);
  }

  /** Its timer fired: not yet (timers wait in steps), release, approval next, or expiry. */
  onDue(job: Job, now: number): DueVerdict {
    const due = this.due(job);
    if (due > now) return { kind: "wait" };
    if (job.pendingReason !== "schedule") {
      const outcome = failure(job.type, "expired", `approval expired at ${new Date(due).toISOString()} with ${job.governance?.approvals.length ?? 0} approval(s)`);
      return { kind: "expire", status: "expired", outcome, detail: { decision: { kind: "expire", actor: "system" } } };
    }
    if (!job.governance) return { kind: "release" };
    // the approval window opens when the schedule comes
    const governance = { ...job.governance, expiresAt: now + job.governance.expiresInMs };
    return { ...parked("approval", { governance }), governance };
  }

  /** An approved command reached its lane head: is the version its approvals were given for still current? */
  checkStale(job: Job, version: number, now: number): StaleVerdict {
    const g = job.governance;
    if (!g || g.expectedVersion === null || g.expectedVersion === version) return { kind: "fresh" };
    const detail = { stale: { expectedVersion: g.expectedVersion, sessionVersion: version, onStale: g.onStale } };
    if (g.onStale === "revalidate") return { kind: "revalidate", detail: { ...detail, revalidated: true } };
    if (g.onStale === "reject") {
      const error = `approved against session version ${g.expectedVersion}, but session ${job.sessionId} is now at version ${version}; rejected as stale (onStale: reject)`;
      return { kind: "reject-stale", status: "failed", outcome: failure(job.type, "version_conflict", error, { sessionVersion: version }), detail };
    }
    // renew: back to pending, every approval cleared, the expected version moved to now
    const governance = { ...g, step: 0, approvals: [], expectedVersion: version, expiresAt: now + g.expiresInMs, renewals: g.renewals + 1 };
    const decision = { kind: "renew", actor: "system" };
    return { kind: "park", reason: "approval", phase: "renewed", governance, detail: { reason: "approval", governance, ...detail, decision }, actor: "system" };
  }

  // ------------------------------------------------------------------ decisions

  approve(by: Decider, p: { commandId: string; comment?: string; ifRevision?: number }, now: number): DecisionVerdict<Vote> {
    const found = this.target("approve_command", p.commandId, p.ifRevision);
    if ("outcome" in found) return refusal(found.outcome);
    const job = found.job;
    if (job.status !== "pending" || job.pendingReason !== "approval" || !job.governance) {
      return refusal(conflict("approve_command", job, job.status === "pending" ? `it is pending for ${job.pendingReason}, not approval` : "it is not pending approval"));
    }
    const vote = castVote(job.governance, job.actor, by.actor, by.roles, now, job.revision + 1, p.comment);
    if (!vote.ok) return refusal(failure("approve_command", "forbidden", `cannot approve ${job.id}: ${vote.why}`));
    const decision = { kind: "approve", actor: by.actor, step: job.governance.step, ...(p.comment !== undefined ? { comment: p.comment } : {}) };
    return {
      kind: "vote",
      job,
      governance: vote.next,
      approved: vote.approved,
      actor: by.actor,
      detail: { governance: vote.next, decision },
      approvedDetail: { decision: { kind: "approved", actor: by.actor } },
    };
  }

  reject(by: Decider, p: { commandId: string; reason: string; ifRevision?: number }): DecisionVerdict<Finish & { job: Job }> {
    const found = this.target("reject_command", p.commandId, p.ifRevision);
    if ("outcome" in found) return refusal(found.outcome);
    const job = found.job;
    if (job.status !== "pending" || job.pendingReason !== "approval" || !job.governance) return refusal(conflict("reject_command", job, "it is not pending approval"));
    const step = job.governance.steps[job.governance.step];
    const mayReject = this.isAdmin(by.roles) || (step !== undefined && step.approverRoles.some((r) => by.roles.includes(r)));
    if (!mayReject) return refusal(failure("reject_command", "forbidden", `rejecting ${job.id} needs role ${step?.approverRoles.join(" or ") ?? "approver"} (the open step) or an admin role`));
    const outcome = failure(job.type, "rejected", `rejected by ${by.actor}: ${p.reason}`);
    return { kind: "reject", job, status: "rejected", outcome, detail: { decision: { kind: "reject", actor: by.actor, comment: p.reason, step: job.governance.step } } };
  }

  cancel(by: Decider, p: { commandId: string; reason?: string; ifRevision?: number }): DecisionVerdict<Finish & { job: Job }> {
    const found = this.target("cancel_command", p.commandId, p.ifRevision);
    if ("outcome" in found) return refusal(found.outcome);
    const job = found.job;
    if (job.actor !== by.actor && !this.isAdmin(by.roles)) {
      return refusal(failure("cancel_command", "forbidden", `only ${job.actor} (the requester) or an admin may cancel ${job.id}`));
    }
    if (job.status === "running" || job.status === "finished") {
      return refusal(conflict("cancel_command", job, job.status === "running" ? "it has started (claimed); a running command cannot be cancelled" : "it has finished"));
    }
    const why = p.reason !== undefined ? `: ${p.reason}` : "";
    const outcome = failure(job.type, "cancelled", `cancelled by ${by.actor}${why}`);
    return { kind: "cancel", job, status: "cancelled", outcome, detail: { decision: { kind: "cancel", actor: by.actor, ...(p.reason !== undefined ? { comment: p.reason } : {}) } } };
  }

  // ------------------------------------------------------------------ helpers

  private isAdmin(roles: readonly string[]): boolean {
    return this.policy.adminRoles().some((r) => roles.includes(r));
  }

  private target(command: string, commandId: string, ifRevision: number | undefined): { job: Job } | { outcome: Outcome } {
    const job = this.lookup.job(commandId);
    if (!job) return { outcome: this.notPending(command, commandId) };
    if (ifRevision !== undefined && ifRevision !== job.revision) return { outcome: conflict(command, job, `it is at revision ${job.revision}, not ${ifRevision}`) };
    return { job };
  }

  private notPending(command: string, commandId: string): Outcome {
    const stored = this.lookup.stored(commandId);
    if (!stored) return failure(command, "command_not_found", `no command ${commandId} is known`);
    return failure(command, "transition_conflict", `command ${commandId} is ${stored.status} (revision ${stored.revision ?? 0})`, { data: { commandId, status: stored.status, revision: stored.revision ?? 0 } });
  }
}

function parked(reason: PendingReason, detail: Record<string, unknown>): Park {
  return { kind: "park", reason, phase: "pending", detail: { reason, ...detail } };
}

function refusal(outcome: Outcome): Refusal {
  return { kind: "refusal", outcome };
}

function conflict(command: string, job: Job, why: string): Outcome {
  const code: ErrorCode = "transition_conflict";
  const status = job.status === "finished" ? (job.finalStatus ?? job.storeStatus) : job.storeStatus;
  return failure(command, code, `command ${job.id} is ${status} at revision ${job.revision}: ${why}`, { data: { commandId: job.id, status, revision: job.revision } });
}
