/**
 * Pending commands, as the engine holds them: the governor (governor.ts) decides, this applies.
 *
 * - a governed or scheduled command is journaled as accepted, then parks `pending` OUTSIDE its
 *   lane (its timer armed: approval expiry, or its schedule); it joins the lane queue when
 *   released or approved;
 * - decisions (approve / reject / cancel), expiry and supersede are transitions through the one
 *   `transition` (table-checked, revision CAS) or the lane runner's `finish`; a decision answers
 *   only once its rows committed;
 * - timers are in memory and re-armed from the journal at startup, where a sweep handles
 *   everything that came due while the server was down, each item on its own.
 */
import type { PendingReason } from "../lifecycle/status.js";
import { failure, success } from "../protocol/frames.js";
import type { Outcome } from "../protocol/types.js";
import type { Admission, Decider, Park, Vote } from "./governor.js";
import type { Job } from "./job.js";
import type { EngineParts } from "./parts.js";
import { PendingSet } from "./pending-limits.js";
import type { Publication } from "./publication.js";
import { phaseRecord } from "./records.js";
import type { LaneRunner } from "./runner.js";
import { transition } from "./transition.js";
import type { Decision } from "./views.js";

/** setTimeout's ceiling; longer waits re-arm */
const MAX_TIMER_MS = 2_147_483_647;

export class PendingCommands {
  /** the commands pending approval or schedule, counted per actor (the quotas read it) */
  readonly set = new PendingSet();

  constructor(
    private readonly p: EngineParts,
    private readonly runner: LaneRunner,
    private readonly publication: Publication,
  ) {}

  get size(): number {
    return this.set.size;
  }

  /** After the accepted row: the governor's plan, applied. Returns true if the command parked. */
  afterAccept(job: Job, admission: Admission & { ok: true }): boolean {
    const now = this.p.now();
    const version = job.sessionId !== null ? (this.p.sessions.get(job.sessionId)?.version ?? null) : null;
    const plan = this.p.governor.accepted(job, admission, now, version);
    if (plan.supersede) this.runner.finish(plan.supersede.job, plan.supersede.status, plan.supersede.outcome, { detail: plan.supersede.detail });
    if (plan.governance) job.governance = plan.governance;
    if (!plan.park) return false;
    this.park(job, plan.park);
    return true;
  }

  /** Park: status pending, outside every lane, its row journaled and its timer armed. */
  park(job: Job, v: Park): void {
    if (v.governance) job.governance = v.governance;
    job.status = "pending";
    job.pendingReason = v.reason;
    this.set.add(job);
    transition(this.p.committer, job, "pending", phaseRecord(job, v.phase, this.p.now(), v.detail, v.actor), (r) => this.publication.governance(job, r));
    this.arm(job);
  }

  /** Rebuild a pending command from the journal (startup); the sweep handles what is already due. */
  restore(job: Job, reason: PendingReason): void {
    job.status = "pending";
    job.pendingReason = reason;
    this.set.add(job);
  }

  /** Startup: expire / release what came due while the server was down, each item on its own. */
  sweep(): void {
    for (const job of this.set.values()) {
      try {
        this.arm(job);
      } catch (err) {
        this.p.log.error({ err, commandId: job.id }, "could not resume a pending command at startup; it stays pending");
      }
    }
  }

  /** It leaves the pending set (released, approved, finished). */
  leave(job: Job): void {
    clearTimeout(job.pendingTimer);
    this.set.delete(job);
  }

  private arm(job: Job): void {
    clearTimeout(job.pendingTimer);
    const wait = this.p.governor.due(job) - this.p.now();
    if (wait <= 0) return this.fire(job);
    job.pendingTimer = setTimeout(() => this.fire(job), Math.min(wait, MAX_TIMER_MS));
    job.pendingTimer.unref?.();
  }

  private fire(job: Job): void {
    if (job.status !== "pending") return;
    const now = this.p.now();
    const v = this.p.governor.onDue(job, now);
    if (v.kind === "wait") return this.arm(job); // a long wait re-arms in steps
    if (v.kind === "park") {
      // its schedule came; it needs approval next
      this.set.delete(job);
      return this.park(job, v);
    }
    this.leave(job);
    if (v.kind === "release") {
      transition(this.p.committer, job, "queued", phaseRecord(job, "released", now), (r) => this.publication.governance(job, r));
      return this.runner.enqueue(job, now);
    }
    this.runner.finish(job, v.status, v.outcome, { detail: v.detail });
  }

  // ------------------------------------------------------------------ decisions

  /** approve / reject / cancel: the governor's verdict applied; answers once its rows committed. */
  async decide(by: Decider, d: Decision): Promise<Outcome> {
    const governor = this.p.governor;
    if (d.kind === "approve") {
      const now = this.p.now();
      const vote = governor.approve(by, d, now);
      return vote.kind === "refusal" ? vote.outcome : this.afterCommit(this.applyVote(vote, now));
    }
    const v = d.kind === "reject" ? governor.reject(by, d) : governor.cancel(by, d);
    if (v.kind === "refusal") return v.outcome;
    const job = v.job;
    this.leave(job);
    this.runner.finish(job, v.status, v.outcome, { detail: v.detail });
    return this.afterCommit(success(`${d.kind}_command`, { commandId: job.id, status: job.storeStatus, revision: job.revision }));
  }

  /** A vote: its `approval` row; when it was the last one needed, `approved` and the lane queue. */
  private applyVote(v: Vote, now: number): Outcome {
    const job = v.job;
    job.governance = v.governance;
    transition(this.p.committer, job, "pending", phaseRecord(job, "approval", now, v.detail, v.actor), (r) => this.publication.governance(job, r));
    if (v.approved) {
      this.leave(job);
      transition(this.p.committer, job, "approved", phaseRecord(job, "approved", now, v.approvedDetail, v.actor), (r) => this.publication.governance(job, r));
    }
    // the decision's own result (taken before the command may start, which is not this decision)
    const data = { commandId: job.id, status: job.storeStatus, revision: job.revision, step: v.governance.step, approvals: v.governance.approvals.length, steps: v.governance.steps.length };
    if (v.approved) this.runner.enqueue(job, now);
    return success("approve_command", data);
  }

  private async afterCommit(outcome: Outcome): Promise<Outcome> {
    try {
      await this.p.committer.committed();
      return outcome;
    } catch {
      return failure(outcome.command, "journal_unavailable", "the decision could not be journaled; it did not happen");
    }
  }
}
