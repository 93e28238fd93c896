/**
 * Governance inside the engine: pending commands and the decisions on them.
 *
 * - admission: the role gate and the policy verdict (`forbidden` on deny), `supersedes` checks,
 *   and the bounds on pending commands (pending-limits.ts: notBefore horizon, per-actor and global
 *   quotas, approval window cap);
 * - a governed or scheduled command is journaled as accepted, then goes `pending` OUTSIDE its lane:
 *   commands behind it run. It joins the lane queue only when approved (or when its `notBefore`
 *   comes), and its `ifSessionVersion` and staleness are checked at the lane head then;
 * - decisions (approve / reject / cancel), expiry and supersede are transitions through the
 *   engine's one `transition` (table-checked, revision CAS); the loser of a race gets
 *   `transition_conflict` with the current status and revision;
 * - timers (expiry, schedule) are in memory and re-armed from the journal at startup, where a sweep
 *   handles everything that came due while the server was down, each item on its own.
 */
import type { Logger } from "pino";
import type { Policy, Requirements, Verdict } from "../governance/policy.js";
import { castVote } from "../governance/votes.js";
import type { JournalRecord, Store } from "../journal/types.js";
import type { CommandStatus, GovernanceState, PendingReason } from "../lifecycle/status.js";
import type { ErrorCode } from "../protocol/errors.js";
import { failure, success } from "../protocol/frames.js";
import type { CommandEnvelope, Outcome } from "../protocol/types.js";
import type { Connection } from "../protocol/connection.js";
import type { NewRecord } from "./committer.js";
import type { Job } from "./job.js";
import type { JobTable } from "./jobs.js";
import type { Publisher } from "./publisher.js";
import { approvalWindow, PendingSet, quotaRefusal, scheduleRefusal, UNBOUNDED_PENDING, type PendingLimits } from "./pending-limits.js";
import { governanceEvent, phaseRecord } from "./records.js";
import type { Responder } from "./responder.js";
import type { SessionTable } from "./session-table.js";

export interface GovernorHost {
  jobs: JobTable;
  sessions: SessionTable;
  publisher: Publisher;
  responder: Responder;
  transition(job: Job, to: CommandStatus, record: NewRecord, onCommit?: (r: JournalRecord) => void): void;
  finish(job: Job, status: CommandStatus, outcome: Outcome, detail?: Record<string, unknown>): void;
  enqueue(job: Job, at: number): void;
  committed(): Promise<void>;
}

/** Who decides: the actor and roles of the command that carries the decision. */
export interface Decider {
  actor: string;
  roles: readonly string[];
}

export type Admission =
  | { ok: true; requirements: Requirements | null; supersedes: Job | null }
  | { ok: false; outcome: Outcome };

export type StaleCheck =
  | { kind: "fresh" }
  | { kind: "reject"; error: string; detail: Record<string, unknown> }
  | { kind: "renewed" }
  | { kind: "revalidate"; detail: Record<string, unknown> };

export interface PendingItem {
  commandId: string;
  type: string;
  sessionId: string | null;
  actor: string;
  reason: PendingReason;
  status: "pending" | "queued";
  revision: number;
  acceptedAt: number;
  tags: string[];
  expiresAt: number | null;
  notBefore: number | null;
  waitingOn: string | null;
  requirements: ReturnType<typeof requirementsView> | null;
}

export interface PendingFilter {
  sessionId?: string;
  reason?: PendingReason;
  type?: string;
  actor?: string;
  limit: number;
}

/** setTimeout's ceiling; longer waits re-arm */
const MAX_TIMER_MS = 2_147_483_647;

export function requirementsView(g: GovernanceState) {
  return {
    steps: g.steps,
    step: g.step,
    approvals: g.approvals,
    allowRequester: g.allowRequester,
    expiresAt: g.expiresAt,
    onStale: g.onStale,
    expectedVersion: g.expectedVersion,
    policyVersion: g.policyVersion,
    rules: g.rules,
    renewals: g.renewals,
  };
}

export class Governor {
  private readonly pending = new PendingSet();

  constructor(
    private readonly host: GovernorHost,
    readonly policy: Policy,
    private readonly store: Store,
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly limits: PendingLimits = UNBOUNDED_PENDING,
  ) {}

  pendingCount(): number {
    return this.pending.size;
  }

  // ------------------------------------------------------------------ admission

  /**
   * The policy's verdict on a submission: the role gate and deny rules (`forbidden`). Checked
   * before replay, so an actor the policy refuses never receives a stored outcome either.
   */
  gate(conn: Connection, env: CommandEnvelope, sessionId: string | null): { ok: true; verdict: Exclude<Verdict, { effect: "deny" }> } | { ok: false; outcome: Outcome } {
    const verdict = this.policy.evaluate({ type: env.type, sessionId, tags: env.tags ?? [], roles: conn.roles });
    if (verdict.effect !== "deny") return { ok: true, verdict };
    this.log.info({ audit: "forbidden", actor: conn.actor, type: env.type, rule: verdict.rule, commandId: env.id }, "command refused by policy");
    return { ok: false, outcome: failure(env.type, "forbidden", `${conn.actor} may not submit ${env.type}: ${verdict.reason} (policy rule ${verdict.rule})`) };
  }

  /** Admission after the gate: schedule horizon, supersedes, pending quotas. */
  admit(conn: Connection, env: CommandEnvelope, sessionId: string | null, verdict: Exclude<Verdict, { effect: "deny" }>): Admission {
    const requirements = verdict.effect === "require_approval" ? verdict.requirements : null;
    const now = this.now();
    const tooFar = scheduleRefusal(env, now, this.limits);
    if (tooFar) return { ok: false, outcome: tooFar };
    const replaces = this.supersedeTarget(conn, env, sessionId);
    if ("outcome" in replaces) return { ok: false, outcome: replaces.outcome };
    const delayed = requirements !== null || (typeof env.notBefore === "number" && env.notBefore > now);
    const full = delayed ? quotaRefusal(env, conn.actor, this.pending, this.limits, replaces.job) : null;
    if (full) return { ok: false, outcome: full };
    return { ok: true, requirements, supersedes: replaces.job };
  }

  /** The pending command `supersedes` names, if the new command may replace it. */
  private supersedeTarget(conn: Connection, env: CommandEnvelope, sessionId: string | null): { job: Job | null } | { outcome: Outcome } {
    if (env.supersedes === undefined) return { job: null };
    const target = this.host.jobs.job(env.supersedes);
    if (!target) return { outcome: this.notPending(env.type, env.supersedes) };
    if (target.status !== "pending") return { outcome: conflict(env.type, target, "it is not pending, so it cannot be superseded") };
    if (target.type !== env.type || target.sessionId !== sessionId) {
      return { outcome: failure(env.type, "supersede_mismatch", `command ${target.id} is a ${target.type} of ${target.sessionId ?? "the server lane"}; supersedes needs the same type and session`) };
    }
    if (target.actor !== conn.actor && !this.isAdmin(conn.roles)) {
      return { outcome: failure(env.type, "forbidden", `only ${target.actor} (the requester) or an admin may supersede ${target.id}`) };
    }
    return { job: target };
  }

  /** After the accepted row: park the command as pending if it must wait. Returns true if parked. */
  afterAccept(job: Job, admission: Admission & { ok: true }): boolean {
    const now = this.now();
    if (admission.supersedes) {
      const old = admission.supersedes;
      this.host.finish(old, "superseded", failure(old.type, "superseded", `superseded by command ${job.id}`), { decision: { kind: "supersede", actor: job.actor }, supersededBy: job.id });
    }
    if (admission.requirements) {
      const windowMs = approvalWindow(admission.requirements.expiresInMs, this.limits);
      job.governance = {
        policyVersion: this.policy.version,
        rules: admission.requirements.rules,
        steps: admission.requirements.steps,
        step: 0,
        approvals: [],
        allowRequester: admission.requirements.allowRequester,
        expiresInMs: windowMs,
        expiresAt: now + windowMs,
        onStale: admission.requirements.onStale,
        expectedVersion: job.sessionId !== null ? (this.host.sessions.get(job.sessionId)?.version ?? null) : null,
        renewals: 0,
      };
    }
    if (job.notBefore !== null && job.notBefore > now) {
      this.park(job, "schedule", { notBefore: job.notBefore, ...(job.governance ? { governance: job.governance } : {}) });
      return true;
    }
    if (job.governance) {
      this.park(job, "approval", { governance: job.governance });
      return true;
    }
    return false;
  }

  // ------------------------------------------------------------------ pending state

  private park(job: Job, reason: PendingReason, detail: Record<string, unknown>, phase: "pending" | "renewed" = "pending", decision?: Record<string, unknown>): void {
    job.status = "pending";
    job.pendingReason = reason;
    this.pending.add(job);
    this.host.transition(job, "pending", phaseRecord(job, phase, this.now(), { reason, ...detail, ...(decision ? { decision } : {}) }, decision?.actor as string | undefined), (r) => this.publish(job, r));
    this.arm(job);
  }

  /** Rebuild a pending command from the journal (startup); the sweep handles what is already due. */
  restore(job: Job, reason: PendingReason): void {
    job.status = "pending";
    job.pendingReason = reason;
    this.pending.add(job);
  }

  /** Startup: expire / release what came due while the server was down, each item on its own. */
  sweep(): void {
    for (const job of this.pending.values()) {
      try {
        this.arm(job);
      } catch (err) {
        this.log.error({ err, commandId: job.id }, "could not resume a pending command at startup; it stays pending");
      }
    }
  }

  private arm(job: Job): void {
    clearTimeout(job.pendingTimer);
    const due = job.pendingReason === "schedule" ? (job.notBefore ?? 0) : (job.governance?.expiresAt ?? Number.POSITIVE_INFINITY);
    const wait = due - this.now();
    if (wait <= 0) return this.fire(job);
    job.pendingTimer = setTimeout(() => this.fire(job), Math.min(wait, MAX_TIMER_MS));
    job.pendingTimer.unref?.();
  }

  private fire(job: Job): void {
    if (job.status !== "pending") return;
    const due = job.pendingReason === "schedule" ? (job.notBefore ?? 0) : (job.governance?.expiresAt ?? Number.POSITIVE_INFINITY);
    if (due > this.now()) return this.arm(job); // a long wait re-arms in steps
    if (job.pendingReason === "schedule") return this.release(job);
    this.leave(job);
    this.host.finish(job, "expired", failure(job.type, "expired", `approval expired at ${new Date(due).toISOString()} with ${job.governance?.approvals.length ?? 0} approval(s)`), { decision: { kind: "expire", actor: "system" } });
  }

  /** A scheduled command's time came: it needs approval next, or it joins its lane. */
  private release(job: Job): void {
    if (job.governance) {
      const now = this.now();
      job.governance = { ...job.governance, expiresAt: now + job.governance.expiresInMs };
      this.pending.delete(job);
      this.park(job, "approval", { governance: job.governance });
      return;
    }
    this.leave(job);
    const now = this.now();
    this.host.transition(job, "queued", phaseRecord(job, "released", now), (r) => this.publish(job, r));
    this.host.enqueue(job, now);
  }

  private leave(job: Job): void {
    clearTimeout(job.pendingTimer);
    this.pending.delete(job);
  }

  /** A finished job may still be in the pending set (cancel, reject, supersede): drop it. */
  forget(job: Job): void {
    this.leave(job);
  }

  // ------------------------------------------------------------------ at the lane head

  /** An approved command reached its lane head: is the version its approvals were given for still current? */
  checkStale(job: Job, version: number): StaleCheck {
    const g = job.governance;
    if (!g || g.expectedVersion === null || g.expectedVersion === version) return { kind: "fresh" };
    const detail = { stale: { expectedVersion: g.expectedVersion, sessionVersion: version, onStale: g.onStale } };
    if (g.onStale === "revalidate") return { kind: "revalidate", detail: { ...detail, revalidated: true } };
    if (g.onStale === "reject") {
      return { kind: "reject", error: `approved against session version ${g.expectedVersion}, but session ${job.sessionId} is now at version ${version}; rejected as stale (onStale: reject)`, detail };
    }
    // renew: back to pending, every approval cleared, the expected version moved to now
    const now = this.now();
    clearTimeout(job.deadlineTimer);
    job.governance = { ...g, step: 0, approvals: [], expectedVersion: version, expiresAt: now + g.expiresInMs, renewals: g.renewals + 1 };
    this.park(job, "approval", { governance: job.governance, ...detail }, "renewed", { kind: "renew", actor: "system" });
    return { kind: "renewed" };
  }

  // ------------------------------------------------------------------ decisions

  async approve(conn: Decider, p: { commandId: string; comment?: string; ifRevision?: number }): Promise<Outcome> {
    const found = this.target("approve_command", p.commandId, p.ifRevision);
    if ("outcome" in found) return found.outcome;
    const job = found.job;
    if (job.status !== "pending" || job.pendingReason !== "approval" || !job.governance) {
      return conflict("approve_command", job, job.status === "pending" ? `it is pending for ${job.pendingReason}, not approval` : "it is not pending approval");
    }
    const now = this.now();
    const vote = castVote(job.governance, job.actor, conn.actor, conn.roles, now, job.revision + 1, p.comment);
    if (!vote.ok) return failure("approve_command", "forbidden", `cannot approve ${job.id}: ${vote.why}`);
    const step = job.governance.step;
    job.governance = vote.next;
    this.host.transition(job, "pending", phaseRecord(job, "approval", now, { governance: job.governance, decision: { kind: "approve", actor: conn.actor, step, ...(p.comment !== undefined ? { comment: p.comment } : {}) } }, conn.actor), (r) => this.publish(job, r));
    if (vote.approved) {
      this.leave(job);
      this.host.transition(job, "approved", phaseRecord(job, "approved", now, { decision: { kind: "approved", actor: conn.actor } }, conn.actor), (r) => this.publish(job, r));
    }
    // the decision's own result (taken before the command may start, which is not this decision)
    const data = { commandId: job.id, status: job.storeStatus, revision: job.revision, step: job.governance.step, approvals: job.governance.approvals.length, steps: job.governance.steps.length };
    if (vote.approved) this.host.enqueue(job, now);
    return this.afterCommit(success("approve_command", data));
  }

  async reject(conn: Decider, p: { commandId: string; reason: string; ifRevision?: number }): Promise<Outcome> {
    const found = this.target("reject_command", p.commandId, p.ifRevision);
    if ("outcome" in found) return found.outcome;
    const job = found.job;
    if (job.status !== "pending" || job.pendingReason !== "approval" || !job.governance) return conflict("reject_command", job, "it is not pending approval");
    const step = job.governance.steps[job.governance.step];
    const mayReject = this.isAdmin(conn.roles) || (step !== undefined && step.approverRoles.some((r) => conn.roles.includes(r)));
    if (!mayReject) return failure("reject_command", "forbidden", `rejecting ${job.id} needs role ${step?.approverRoles.join(" or ") ?? "approver"} (the open step) or an admin role`);
    this.leave(job);
    this.host.finish(job, "rejected", failure(job.type, "rejected", `rejected by ${conn.actor}: ${p.reason}`), { decision: { kind: "reject", actor: conn.actor, comment: p.reason, step: job.governance.step } });
    return this.afterCommit(success("reject_command", { commandId: job.id, status: job.storeStatus, revision: job.revision }));
  }

  async cancel(conn: Decider, p: { commandId: string; reason?: string; ifRevision?: number }): Promise<Outcome> {
    const found = this.target("cancel_command", p.commandId, p.ifRevision);
    if ("outcome" in found) return found.outcome;
    const job = found.job;
    if (job.actor !== conn.actor && !this.isAdmin(conn.roles)) {
      return failure("cancel_command", "forbidden", `only ${job.actor} (the requester) or an admin may cancel ${job.id}`);
    }
    if (job.status === "running" || job.status === "finished") return conflict("cancel_command", job, job.status === "running" ? "it has started (claimed); a running command cannot be cancelled" : "it has finished");
    this.leave(job);
    const why = p.reason !== undefined ? `: ${p.reason}` : "";
    this.host.finish(job, "cancelled", failure(job.type, "cancelled", `cancelled by ${conn.actor}${why}`), { decision: { kind: "cancel", actor: conn.actor, ...(p.reason !== undefined ? { comment: p.reason } : {}) } });
    return this.afterCommit(success("cancel_command", { commandId: job.id, status: job.storeStatus, revision: job.revision }));
  }

  list(filter: PendingFilter): { items: PendingItem[]; total: number } {
    const items: PendingItem[] = [];
    for (const job of this.host.jobs.jobs()) {
      const reason: PendingReason | undefined = job.status === "pending" ? job.pendingReason : job.status === "waiting" ? "dependency" : undefined;
      if (!reason) continue;
      if (filter.reason !== undefined && filter.reason !== reason) continue;
      if (filter.sessionId !== undefined && filter.sessionId !== job.sessionId) continue;
      if (filter.type !== undefined && filter.type !== job.type) continue;
      if (filter.actor !== undefined && filter.actor !== job.actor) continue;
      items.push({
        commandId: job.id,
        type: job.type,
        sessionId: job.sessionId,
        actor: job.actor,
        reason,
        status: job.status === "pending" ? "pending" : "queued",
        revision: job.revision,
        acceptedAt: job.acceptedAt,
        tags: [...job.tags],
        expiresAt: reason === "approval" ? (job.governance?.expiresAt ?? null) : null,
        notBefore: job.notBefore,
        waitingOn: job.waitingOn ?? null,
        requirements: job.governance ? requirementsView(job.governance) : null,
      });
    }
    items.sort((a, b) => a.acceptedAt - b.acceptedAt || (a.commandId < b.commandId ? -1 : 1));
    return { items: items.slice(0, filter.limit), total: items.length };
  }

  // ------------------------------------------------------------------ helpers

  isAdmin(roles: readonly string[]): boolean {
    return this.policy.adminRoles().some((r) => roles.includes(r));
  }

  private target(command: string, commandId: string, ifRevision: number | undefined): { job: Job } | { outcome: Outcome } {
    const job = this.host.jobs.job(commandId);
    if (!job) return { outcome: this.notPending(command, commandId) };
    if (ifRevision !== undefined && ifRevision !== job.revision) return { outcome: conflict(command, job, `it is at revision ${job.revision}, not ${ifRevision}`) };
    return { job };
  }

  private notPending(command: string, commandId: string): Outcome {
    const stored = this.store.getCommand(commandId);
    if (!stored) return failure(command, "command_not_found", `no command ${commandId} is known`);
    return failure(command, "transition_conflict", `command ${commandId} is ${stored.status} (revision ${stored.revision ?? 0})`, { data: { commandId, status: stored.status, revision: stored.revision ?? 0 } });
  }

  private async afterCommit(outcome: Outcome): Promise<Outcome> {
    try {
      await this.host.committed();
      return outcome;
    } catch {
      return failure(outcome.command, "journal_unavailable", "the decision could not be journaled; it did not happen");
    }
  }

  private publish(job: Job, r: JournalRecord): void {
    const ev = governanceEvent(r);
    if (ev) this.host.publisher.command(job.sessionId, job.actor, ev, job.conn);
  }
}

function conflict(command: string, job: Job, why: string): Outcome {
  const code: ErrorCode = "transition_conflict";
  const status = job.status === "finished" ? (job.finalStatus ?? job.storeStatus) : job.storeStatus;
  return failure(command, code, `command ${job.id} is ${status} at revision ${job.revision}: ${why}`, { data: { commandId: job.id, status, revision: job.revision } });
}
