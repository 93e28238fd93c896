/**
 * The bounds on pending commands (governance), in one place:
 * - `maxScheduleAheadMs`: how far ahead of the server clock `notBefore` may lie (`invalid_command`);
 * - `maxPending` / `maxPendingPerActor`: how many commands may be pending approval or schedule at
 *   once, in all and per requester (`busy`). The counts are of the engine's pending set, which
 *   restart recovery rebuilds from the journal, so the quotas hold across restarts;
 * - `maxApprovalWindowMs`: a cap on a policy's `expiresInMs` (as `maxTimeoutMs` caps timeouts).
 */
import { failure } from "../protocol/frames.js";
import type { CommandEnvelope, Outcome, ServerLimits } from "../protocol/types.js";
import type { Job } from "./job.js";

export type PendingLimits = Pick<ServerLimits, "maxPending" | "maxPendingPerActor" | "maxScheduleAheadMs" | "maxApprovalWindowMs">;

export const UNBOUNDED_PENDING: PendingLimits = {
  maxPending: Number.POSITIVE_INFINITY,
  maxPendingPerActor: Number.POSITIVE_INFINITY,
  maxScheduleAheadMs: Number.POSITIVE_INFINITY,
  maxApprovalWindowMs: Number.POSITIVE_INFINITY,
};

/** The pending commands, counted per actor. */
export class PendingSet {
  private readonly jobs = new Set<Job>();
  private readonly perActor = new Map<string, number>();

  get size(): number {
    return this.jobs.size;
  }

  of(actor: string): number {
    return this.perActor.get(actor) ?? 0;
  }

  add(job: Job): void {
    if (this.jobs.has(job)) return;
    this.jobs.add(job);
    this.perActor.set(job.actor, this.of(job.actor) + 1);
  }

  delete(job: Job): void {
    if (!this.jobs.delete(job)) return;
    const n = this.of(job.actor) - 1;
    if (n > 0) this.perActor.set(job.actor, n);
    else this.perActor.delete(job.actor);
  }

  values(): Job[] {
    return [...this.jobs];
  }
}

/** A `notBefore` too far ahead: refused before admission. */
export function scheduleRefusal(env: CommandEnvelope, now: number, limits: PendingLimits): Outcome | null {
  const notBefore = env.notBefore;
  if (typeof notBefore !== "number" || notBefore - now <= limits.maxScheduleAheadMs) return null;
  return failure(
    env.type,
    "invalid_command",
    `notBefore ${notBefore} is ${notBefore - now} ms ahead of the server clock (${now}); at most maxScheduleAheadMs (${limits.maxScheduleAheadMs} ms) ahead is allowed`,
  );
}

/**
 * A command that would become pending while its requester's or the server's quota is full. A
 * command that supersedes a pending one (`replaces`) takes its slot.
 */
export function quotaRefusal(env: CommandEnvelope, actor: string, pending: PendingSet, limits: PendingLimits, replaces: Job | null = null): Outcome | null {
  const mine = pending.of(actor) - (replaces !== null && replaces.actor === actor ? 1 : 0);
  if (mine >= limits.maxPendingPerActor) {
    return failure(env.type, "busy", `${actor} already has ${mine} commands pending (maxPendingPerActor ${limits.maxPendingPerActor}); retry when some have been decided, or cancel some`);
  }
  const all = pending.size - (replaces !== null ? 1 : 0);
  if (all >= limits.maxPending) {
    return failure(env.type, "busy", `${all} commands are already pending (maxPending); retry later`);
  }
  return null;
}

/** The approval window a policy asks for, capped at maxApprovalWindowMs. */
export function approvalWindow(expiresInMs: number, limits: PendingLimits): number {
  return Math.min(expiresInMs, limits.maxApprovalWindowMs);
}
