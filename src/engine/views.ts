/**
 * What the engine shows of itself through its façade (engine.ts): figures for operators and
 * metrics, the in-flight view of one command, and the decisions operators take on pending ones.
 * Views are plain data: nothing outside the engine holds a job, a lane or a table.
 */
import type { GovernanceState, PendingReason } from "../lifecycle/status.js";
import type { CommitterStats } from "./committer.js";
import type { Job, JobStatus } from "./job.js";
import type { LaneSnapshot } from "./lanes.js";

/** The engine's figures; `excluding` (the asking command) is left out of in-flight and lane figures. */
export interface EngineStats {
  uptimeMs: number;
  /** sessions in working state */
  sessions: number;
  /** open connections */
  connections: number;
  /** admitted commands whose outcome is not yet published (pending ones included) */
  inFlight: number;
  /** commands waiting for approval or their schedule, outside every lane */
  pending: number;
  /** commands in lanes whose handler is not running (waiting for their turn or a dependency) */
  queued: number;
  /** lane heads whose handler runs */
  running: number;
  /** lanes holding a command */
  lanes: number;
  /** the last committed journal seq */
  lastSeq: number;
  /** the group committer's counters */
  commits: Readonly<CommitterStats>;
  /** the finished-outcome cache and the idempotency keys held by commands in flight */
  cache: { cachedOutcomes: number; cacheMax: number; keysInFlight: number };
}

/** Lane figures summed over lane snapshots. */
export function laneTotals(lanes: readonly LaneSnapshot[]): { queued: number; running: number; lanes: number } {
  let queued = 0;
  let running = 0;
  let active = 0;
  for (const l of lanes) {
    const r = l.running ? 1 : 0;
    running += r;
    queued += l.depth - r;
    if (l.depth > 0) active++;
  }
  return { queued, running, lanes: active };
}

/** What the engine holds now about a command in flight (get_command's `live`). */
export interface CommandView {
  status: Exclude<JobStatus, "waiting" | "finished">;
  pendingReason?: PendingReason;
  waitingOn?: string;
  revision: number;
}

/** A dependency wait shows as pending (reason dependency); a finished job is the journal's to tell. */
export function commandView(job: Job): CommandView | undefined {
  if (job.status === "finished") return undefined;
  const waiting = job.status === "waiting";
  return {
    status: waiting ? "pending" : (job.status as CommandView["status"]),
    ...(waiting ? { pendingReason: "dependency" as const, waitingOn: job.waitingOn } : {}),
    ...(job.pendingReason ? { pendingReason: job.pendingReason } : {}),
    revision: job.revision,
  };
}

/** An operator's decision on another command. */
export type Decision =
  | { kind: "approve"; commandId: string; comment?: string; ifRevision?: number }
  | { kind: "reject"; commandId: string; reason: string; ifRevision?: number }
  | { kind: "cancel"; commandId: string; reason?: string; ifRevision?: number };

/** list_pending's filter. */
export interface PendingFilter {
  sessionId?: string;
  reason?: PendingReason;
  type?: string;
  actor?: string;
  limit: number;
}

/** One command of list_pending: waiting for approval, its schedule, or (at its lane head) a dependency. */
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

/** The commands in `jobs` that wait, oldest first; `total` before the `limit`. */
export function pendingItems(jobs: Iterable<Job>, filter: PendingFilter): { items: PendingItem[]; total: number } {
  const items: PendingItem[] = [];
  for (const job of jobs) {
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
