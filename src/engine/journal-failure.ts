/**
 * A commit failed: fail closed. Nothing of that batch is visible and nothing that depended on it
 * may be acknowledged: every job in flight fails with `journal_unavailable`. Jobs whose `accepted`
 * row was already durable get a terminal repair row in the next batch; the others are forgotten
 * (the journal never heard of them). Working session state falls back to the committed state.
 */
import { CausewayError } from "../protocol/errors.js";
import { abortJob, stopTimers, type Job } from "./job.js";
import type { EngineParts } from "./parts.js";
import type { Publication } from "./publication.js";
import { finishedRecord } from "./records.js";
import { journalUnavailable } from "./responder.js";
import { transition } from "./transition.js";

/** `leave`: takes a command out of the pending set (approval, schedule) and stops its timer. */
export function failClosed(p: EngineParts, publication: Publication, leave: (job: Job) => void, err: unknown): void {
  p.log.error({ err }, "journal commit failed; failing in-flight commands with journal_unavailable");
  p.sessions.rollback();
  const jobs = p.jobs.jobs();
  p.jobs.clear();
  p.lanes.clear();
  p.dependencyLimits.clear();
  for (const job of jobs) {
    // a pending command fails too: it leaves the pending set, or it would count there for good
    leave(job);
    stopTimers(job);
    abortJob(job, new CausewayError("journal_unavailable", "journal unavailable"));
    job.dependents.clear();
    const outcome = journalUnavailable(job.type);
    if (!job.responded) {
      job.responded = true;
      p.responder.respond(job.conn, job.replyId, outcome);
    }
    for (const a of job.attached.splice(0)) p.responder.respond(a.conn, a.replyId, outcome);
    if (job.durableAccepted) repair(p, publication, job, outcome);
  }
}

/** The job's repair row: failed, starting from the last committed status (nothing of the failed batch exists). */
function repair(p: EngineParts, publication: Publication, job: Job, outcome: ReturnType<typeof journalUnavailable>): void {
  job.status = "finished";
  job.finalStatus = "failed";
  job.outcome = outcome;
  job.effect = undefined;
  job.effectEntry = undefined;
  p.jobs.add(job);
  p.jobs.settle(job);
  const now = p.now();
  job.storeStatus = job.durableStatus;
  job.revision = job.durableRevision;
  // the key is released at once (expires now) so a retry with it can execute
  transition(p.committer, job, "failed", finishedRecord(job, now, now, { repair: "journal_unavailable" }), (r) => publication.finished(job, r));
}
