/**
 * What the engine shows of itself through its façade (engine.ts): figures for operators and
 * metrics, the in-flight view of one command, and the decisions operators take on pending ones.
 * Views are copies: nothing outside the engine holds a job, a lane or a table.
 */
import type { PendingReason } from "../lifecycle/status.js";
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
