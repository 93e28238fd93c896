/**
 * Where facts about a job leave the process, and only after the row that records them committed
 * (persist-before-publish): lifecycle events, governance events, and, once the `finished` row is
 * durable, the session's effect, events and notices, the response, and the answers owed to the
 * duplicates attached to the job.
 */
import { sessionInfo } from "../commands/session-info.js";
import type { JournalRecord } from "../journal/types.js";
import type { Outcome } from "../protocol/types.js";
import type { Duplicates } from "./duplicates.js";
import type { Job } from "./job.js";
import type { EngineParts } from "./parts.js";
import { governanceEvent, lifecycleEvent } from "./records.js";
import { journalUnavailable } from "./responder.js";
import type { RunRecord } from "./run-context.js";

export class Publication {
  constructor(
    private readonly p: EngineParts,
    private readonly duplicates: Duplicates,
    /** after a job's outcome went out (the drain checks whether it is done) */
    private readonly afterFinished: () => void,
  ) {}

  lifecycle(type: "command_accepted" | "command_started" | "command_finished", job: Job, record: JournalRecord, outcome?: Outcome): void {
    // built only if some connection wants it (a connection may have narrowed its lifecycle events)
    this.p.publisher.command(job.sessionId, job.actor, () => lifecycleEvent(type, record, job, job.id, outcome), job.conn);
  }

  /** A committed governance row (pending, approval, approved, released, renewed) as its event. */
  governance(job: Job, record: JournalRecord): void {
    const ev = governanceEvent(record);
    if (ev) this.p.publisher.command(job.sessionId, job.actor, ev, job.conn);
  }

  /** The `finished` row is committed: now, and only now, the world hears about it. */
  finished(job: Job, record: JournalRecord, run?: RunRecord): void {
    const { publisher, sessions } = this.p;
    if (job.effect) sessions.commit(job.effect, job.effectEntry);
    this.lifecycle("command_finished", job, record, job.outcome);
    this.p.observer.finished({ commandId: job.id, type: job.type, lane: job.lane, status: job.finalStatus!, code: job.outcome?.success ? null : (job.outcome?.code ?? null), acceptedAt: job.acceptedAt, startedAt: job.startedAt ?? null, finishedAt: record.recordedAt });
    if (job.outcome?.success) for (const e of run?.events ?? []) publisher.event(e.sessionId, { type: "event", sessionId: e.sessionId, event: e.event });
    if (job.effect?.kind === "create") {
      publisher.broadcast({ type: "session_created", data: { sessionId: job.effect.sessionId, sessionInfo: sessionInfo({ sessionId: job.effect.sessionId, sessionVersion: 0, createdAt: job.acceptedAt }) } });
    } else if (job.effect?.kind === "delete") {
      publisher.dropSession(job.effect.sessionId);
      publisher.broadcast({ type: "session_deleted", data: { sessionId: job.effect.sessionId } });
    }
    if (!job.responded) {
      job.responded = true;
      this.p.responder.respond(job.conn, job.replyId, job.outcome!);
      const after = job.def?.operator?.afterResponse;
      if (after && job.outcome?.success) after({ commandId: job.id, conn: job.conn, envelope: job.envelope, actor: job.actor, roles: job.roles });
    }
    this.p.jobs.remove(job);
    this.answerAttached(job);
    this.afterFinished();
  }

  /** Duplicates that attached while the job ran get the stored outcome as a replay. */
  private answerAttached(job: Job): void {
    const attached = job.attached.splice(0);
    if (attached.length === 0) return;
    const ref = this.p.jobs.finished(job.id);
    for (const a of attached) {
      if (ref) this.duplicates.replay(a.conn, a.replyId, ref, a.by);
      else this.p.responder.respond(a.conn, a.replyId, journalUnavailable(job.type));
    }
  }
}
