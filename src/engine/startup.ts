/**
 * Startup recovery, applied: recovery.ts classified every unfinished command of the journal; each
 * becomes a job again and gets its verdict here: pending again (its timer re-armed by the sweep),
 * re-queued (a `requeued` row, back in its lane with its deadline), or finished `interrupted`.
 * Every verdict row is committed before the server accepts a connection.
 */
import type { RecoveredState } from "../journal/types.js";
import { failure } from "../protocol/frames.js";
import type { Job } from "./job.js";
import { recoveredJob } from "./make-job.js";
import type { EngineParts } from "./parts.js";
import type { PendingCommands } from "./pending.js";
import type { Publication } from "./publication.js";
import { finishedRecord, phaseRecord } from "./records.js";
import type { Verdict } from "./recovery.js";
import { versionOutcome, type LaneRunner } from "./runner.js";
import { transition } from "./transition.js";

export interface StartupParts {
  runner: LaneRunner;
  pending: PendingCommands;
  publication: Publication;
}

/** Apply the verdicts, journal them (synchronously: throws `journal_unavailable` if that fails), start the lanes. */
export function applyRecovery(p: EngineParts, s: StartupParts, verdicts: readonly Verdict[]): void {
  resume(p, s, verdicts);
  if (!p.committer.flushNow()) {
    throw Object.assign(new Error(`could not journal the startup recovery verdicts: ${p.committer.stats.lastError}`), { code: "journal_unavailable" });
  }
}

/**
 * A lane this node took over from a dead node (a shared journal, engine/takeover.ts): the same
 * verdicts as a restart, for that lane's commands; its session and lane head as the journal holds
 * them. Its rows commit with the next batch, and the lane starts.
 */
export function resumeLane(p: EngineParts, s: StartupParts, recovered: RecoveredState, verdicts: readonly Verdict[]): void {
  p.sessions.load(recovered.sessions);
  for (const { lane, laneSeq } of recovered.laneSeqs) p.committer.adoptLane(lane, laneSeq);
  resume(p, s, verdicts);
  s.runner.pumpAll();
}

function resume(p: EngineParts, s: StartupParts, verdicts: readonly Verdict[]): void {
  const jobs = verdicts.map((verdict) => apply(p, s, verdict));
  // recovered commands that may still wait for a dependency count towards their lane's bound
  for (const job of jobs) if (!job.started && job.status !== "finished" && p.dependencyLimits.mayWait(job.lane, job.dependsOn)) p.dependencyLimits.track(job);
  // startup sweep: expire / release what came due while the server was down (each on its own)
  s.pending.sweep();
}

function apply(p: EngineParts, s: StartupParts, verdict: Verdict): Job {
  const u = verdict.command;
  const job = recoveredJob(u, p.registry.get(u.type), p.config.defaultTimeoutMs);
  p.jobs.add(job);
  if (verdict.kind === "pending") {
    s.pending.restore(job, u.pendingReason ?? "approval");
  } else if (verdict.kind === "requeue") {
    const to = job.governance && (u.status === "approved" || u.status === "running") ? "approved" : "queued";
    transition(p.committer, job, to, phaseRecord(job, "requeued", p.now(), { reason: verdict.reason }));
    s.runner.requeue(job);
  } else {
    job.status = "finished";
    job.finalStatus = "interrupted";
    job.outcome = failure(job.type, "interrupted", verdict.reason, versionOutcome(job, p.sessions));
    p.jobs.settle(job);
    transition(p.committer, job, "interrupted", finishedRecord(job, p.now(), p.now() + p.config.idempotencyTtlMs, { recovery: verdict.kind }), (r) => s.publication.finished(job, r));
  }
  return job;
}
