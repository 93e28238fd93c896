/**
 * A Job is an admitted command while the engine holds it in memory: from its `accepted` row until
 * its terminal outcome has been committed and published.
 */
import type { CommandDefinition } from "../commands/define.js";
import type { CommandStatus, GovernanceState, PendingReason, SessionEffect } from "../lifecycle/status.js";
import type { CommandEnvelope, Outcome } from "../protocol/types.js";
import type { Connection } from "../protocol/connection.js";

export type JobStatus =
  /** outside every lane: waiting for approval or for its `notBefore` (governance) */
  | "pending"
  /** in its lane queue, not at the head */
  | "queued"
  /** at the lane head, waiting for a dependency in another lane */
  | "waiting"
  /** handler running */
  | "running"
  /** terminal outcome recorded (maybe not yet committed/published) */
  | "finished";

/** A duplicate submission attached to an in-flight job; answered with a replay once it is published. */
export interface Attachment {
  conn: Connection;
  replyId: string | undefined;
  by: "id" | "idempotencyKey";
}

export interface Job {
  readonly id: string;
  readonly explicitId: boolean;
  readonly def: CommandDefinition | undefined;
  readonly type: string;
  readonly lane: string;
  readonly sessionId: string | null;
  readonly envelope: CommandEnvelope;
  readonly params: Record<string, unknown>;
  readonly fingerprint: string;
  readonly idempotencyKey: string | null;
  readonly idempotencyScope: string | null;
  readonly dependsOn: readonly string[];
  readonly ifSessionVersion: number | undefined;
  readonly actor: string;
  readonly timeoutMs: number;
  readonly acceptedAt: number;
  /** the submitting connection; null for commands re-queued by recovery */
  conn: Connection | null;
  /** `id` to put on the response: the request's own id (never a historical one) */
  readonly replyId: string | undefined;
  status: JobStatus;
  /** `accepted` row is committed (a journal failure then needs a repair row, not forgetting) */
  durableAccepted: boolean;
  /** a `started` row has been appended */
  started: boolean;
  /** when the handler started (this process); undefined if it never started here */
  startedAt?: number;
  outcome?: Outcome;
  finalStatus?: CommandStatus;
  effect?: SessionEffect;
  /** the session entry the effect produced (becomes the committed entry) */
  effectEntry?: import("./session-table.js").SessionEntry;
  /** the response has been sent (or the connection is gone) */
  responded: boolean;
  /** created on first use (an AbortController costs ~20 µs; most handlers never look at it) */
  controller?: AbortController;
  /** set once the job was aborted (timeout, journal failure, shutdown) */
  abortReason?: unknown;
  deadlineTimer?: NodeJS.Timeout;
  waitTimer?: NodeJS.Timeout;
  /** the dependency this job is waiting for at its lane head */
  waitingOn?: string;
  /** a dependency on another node's command: when the wait gives up (dependencyWaitMs after it began) */
  remoteWaitUntil?: number;
  /** jobs in other lanes waiting for this one to finish */
  readonly dependents: Set<Job>;
  readonly attached: Attachment[];
  /** session generation observed when the handler started (detects delete/recreate) */
  generation?: number;
  /** the command's status as last appended to the journal (the transition table's "from") */
  storeStatus: CommandStatus;
  /** revision of the last appended status change (accepted = 0) */
  revision: number;
  /** status and revision as last committed (a failed batch falls back to these) */
  durableStatus: CommandStatus;
  durableRevision: number;
  /** when it (last) joined its lane queue; its deadline is queuedAt + timeoutMs */
  queuedAt: number;
  readonly tags: readonly string[];
  readonly notBefore: number | null;
  /** set while status is "pending" */
  pendingReason?: PendingReason;
  /** set for commands a policy rule requires approval for */
  governance?: GovernanceState;
  /** expiry (approval) or release (schedule) timer while pending */
  pendingTimer?: NodeJS.Timeout;
  /** the requester's roles (cancel / supersede permission checks use the actor) */
  readonly roles: readonly string[];
}

/** The job's AbortSignal, created on first use; already aborted if the job was. */
export function signalOf(job: Job): AbortSignal {
  if (!job.controller) {
    job.controller = new AbortController();
    if (job.abortReason !== undefined) job.controller.abort(job.abortReason);
  }
  return job.controller.signal;
}

export function abortJob(job: Job, reason: unknown): void {
  if (job.abortReason !== undefined) return;
  job.abortReason = reason;
  job.controller?.abort(reason);
}

/** Stop every timer of a job: its deadline, its dependency wait, its pending expiry / release. */
export function stopTimers(job: Job): void {
  clearTimeout(job.deadlineTimer);
  clearTimeout(job.waitTimer);
  clearTimeout(job.pendingTimer);
}

export function isTerminal(job: Job): boolean {
  return job.status === "finished";
}
