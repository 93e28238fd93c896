/**
 * The lane runner: strictly one job at a time per lane, in order.
 *
 * - lane head (`startHead`): the deadline, dependsOn (dependencies.ts), session existence, the
 *   governor's staleness verdict, ifSessionVersion; then the `started` row and the handler;
 * - the handler's result becomes an outcome and a session effect by the one settle rule
 *   (lifecycle/settle.ts);
 * - `finish`: the single way a job gets its terminal outcome, recorded inside the lane before the
 *   lane moves on; dependents waiting in other lanes are woken here. Its `finished` row is
 *   published (publication.ts) only once committed.
 */
import type { CommandDefinition } from "../commands/define.js";
import type { CommandStatus, SessionEffect } from "../lifecycle/status.js";
import { failureVersion, settleError, settleResult, type SettleSubject } from "../lifecycle/settle.js";
import { CausewayError, OutcomeError } from "../protocol/errors.js";
import { failure } from "../protocol/frames.js";
import { commandTimedOut, dependencyTimedOut, sessionNotFound, versionMismatch } from "../protocol/messages.js";
import type { Outcome } from "../protocol/types.js";
import { resolveDependencies } from "./dependencies.js";
import type { Park } from "./governor.js";
import { abortJob, stopTimers, type Job } from "./job.js";
import type { Lane } from "./lanes.js";
import type { EngineParts } from "./parts.js";
import type { Publication } from "./publication.js";
import { finishedRecord, phaseRecord } from "./records.js";
import { buildContext, type RunRecord } from "./run-context.js";
import type { NextState, SessionTable } from "./session-table.js";
import { transition } from "./transition.js";

/** how often a dependency on another node's command is looked up again in the journal */
const REMOTE_POLL_MS = 50;

/** What the runner asks of the pending commands (pending.ts). */
export interface PendingHooks {
  /** the job finished: it leaves the pending set, if it was there */
  leave(job: Job): void;
  /** the job, approved against an older session version, must be approved again (onStale renew) */
  park(job: Job, verdict: Park): void;
}

/** What a finish carries besides status and outcome. */
export interface FinishExtra {
  effect?: SessionEffect;
  /** a session write's new state (settle.ts) */
  next?: NextState | undefined;
  run?: RunRecord;
  /** goes on the `finished` row */
  detail?: Record<string, unknown>;
}

export class LaneRunner {
  /** a deterministic handler is being run and settled within the turn (runNow) */
  private runningNow = false;

  constructor(
    private readonly p: EngineParts,
    private readonly publication: Publication,
    private readonly pending: PendingHooks,
  ) {}

  /** Put an admitted (or just released / approved) command at the tail of its lane queue, and run. */
  enqueue(job: Job, at: number): void {
    job.status = "queued";
    job.queuedAt = at;
    const lane = this.p.lanes.getOrCreate(job.lane);
    lane.queue.push(job);
    this.armDeadline(job);
    this.pump(lane);
  }

  /** Startup: a recovered command joins its lane queue with its deadline; `pumpAll` starts lanes. */
  requeue(job: Job): void {
    this.p.lanes.getOrCreate(job.lane).queue.push(job);
    this.armDeadline(job);
  }

  pumpAll(): void {
    for (const lane of this.p.lanes.all()) this.pump(lane);
  }

  private pump(lane: Lane): void {
    if (lane.pumping) return;
    lane.pumping = true;
    try {
      while (lane.active === null && lane.length > 0) this.startHead(lane, lane.head()!);
    } finally {
      lane.pumping = false;
      this.p.lanes.dropIfEmpty(lane);
    }
  }

  private startHead(lane: Lane, job: Job): void {
    // one clock reading decides the deadline AND stamps the started row: a command can never be
    // recorded as starting after the deadline it was checked against
    const now = this.p.now();
    if (now >= job.queuedAt + job.timeoutMs) {
      // its deadline passed while it waited (event-loop lag, or a restart): it must never start
      return this.finish(job, "timed_out", this.timedOut(job, "before it started; it will never run"));
    }
    const verdict = this.dependencies(job);
    if (verdict.kind === "fail") return this.finish(job, "failed", failure(job.type, verdict.code, verdict.error, this.versionOutcome(job)));
    if (verdict.kind === "wait") return this.waitFor(lane, job, verdict.on);
    if (verdict.kind === "remote") return this.waitRemote(lane, job, verdict.id);
    const checked = this.checkSession(lane, job, now);
    if (checked) this.run(lane, job, now, checked.revalidated);
  }

  /** Its dependency runs in another lane: hold this lane for up to dependencyWaitMs. */
  private waitFor(lane: Lane, job: Job, on: Job): void {
    job.status = "waiting";
    job.waitingOn = on.id;
    on.dependents.add(job);
    lane.active = job;
    const ms = this.p.config.dependencyWaitMs;
    job.waitTimer = setTimeout(() => {
      this.finish(job, "failed", failure(job.type, "dependency_timeout", dependencyTimedOut(on.id, ms), this.versionOutcome(job)));
    }, ms);
  }

  /**
   * The dependency verdict. On a shared journal an id this node has not seen may be another node's
   * command its projection has not read yet: it reads the journal's end once before calling it unknown.
   */
  private dependencies(job: Job): ReturnType<typeof resolveDependencies> {
    const own = this.p.store.ownership;
    const verdict = resolveDependencies(job, this.p.jobs, own !== undefined);
    if (!own || verdict.kind !== "fail" || verdict.code !== "dependency_unknown") return verdict;
    try {
      own.catchUp();
    } catch {
      return verdict; // the journal cannot be read: the store failed closed, and the verdict stands
    }
    return resolveDependencies(job, this.p.jobs, true);
  }

  /**
   * Its dependency runs on another node (a shared journal): hold this lane, reading the journal
   * again every REMOTE_POLL_MS until it shows the dependency finished, for up to dependencyWaitMs.
   */
  private waitRemote(lane: Lane, job: Job, id: string): void {
    const ms = this.p.config.dependencyWaitMs;
    job.remoteWaitUntil ??= this.p.now() + ms;
    if (this.p.now() >= job.remoteWaitUntil) return this.finish(job, "failed", failure(job.type, "dependency_timeout", dependencyTimedOut(id, ms), this.versionOutcome(job)));
    job.status = "waiting";
    job.waitingOn = id;
    lane.active = job;
    job.waitTimer = setTimeout(() => {
      if (job.status !== "waiting" || job.waitingOn !== id) return;
      try {
        this.p.store.ownership?.catchUp();
      } catch (err) {
        this.p.log.warn({ err, commandId: job.id }, "could not read the journal for a dependency on another node; trying again");
      }
      job.status = "queued";
      job.waitingOn = undefined;
      lane.active = null;
      this.pump(lane);
    }, REMOTE_POLL_MS);
  }

  /**
   * The session checks at the lane head. Returns null when the job did not get to run (finished,
   * or parked again for approval); else the staleness detail its `started` row carries.
   */
  private checkSession(lane: Lane, job: Job, now: number): { revalidated: Record<string, unknown> | undefined } | null {
    const def = job.def as CommandDefinition;
    if (def.scope !== "session" && def.targetSession?.mustExist !== true) return { revalidated: undefined };
    const session = job.sessionId !== null ? this.p.sessions.get(job.sessionId) : undefined;
    if (!session) {
      const why = job.ifSessionVersion !== undefined ? `${sessionNotFound(job.sessionId as string)} for ifSessionVersion=${job.ifSessionVersion}` : sessionNotFound(job.sessionId as string);
      this.finish(job, "failed", failure(job.type, "session_not_found", why));
      return null;
    }
    const stale = this.p.governor.checkStale(job, session.version, now);
    if (stale.kind === "park") {
      clearTimeout(job.deadlineTimer);
      this.pending.park(job, stale);
      lane.remove(job);
      lane.active = null;
      return null;
    }
    if (stale.kind !== "fresh" && stale.kind !== "revalidate") {
      this.finish(job, stale.status, stale.outcome, { detail: stale.detail });
      return null;
    }
    if (job.ifSessionVersion !== undefined && session.version !== job.ifSessionVersion) {
      this.finish(job, "failed", failure(job.type, "version_conflict", versionMismatch(job.ifSessionVersion, session.version), { sessionVersion: session.version }));
      return null;
    }
    job.generation = session.generation;
    return { revalidated: stale.kind === "revalidate" ? stale.detail : undefined };
  }

  /** The claim (queued|approved → running, a CAS on the revision), then the handler. */
  private run(lane: Lane, job: Job, now: number, revalidated: Record<string, unknown> | undefined): void {
    const def = job.def as CommandDefinition;
    job.status = "running";
    job.started = true;
    job.startedAt = now;
    lane.active = job;
    // a later cancel finds it running
    transition(this.p.committer, job, "running", phaseRecord(job, "started", now, revalidated), (r) => {
      this.p.observer.started(job.type, job.lane, r.recordedAt - job.queuedAt);
      this.publication.lifecycle("command_started", job, r);
    });
    const run = buildContext(job, { sessions: this.p.sessions, log: this.p.log, maxSessions: this.p.config.limits.maxSessions, now: this.p.now });
    const go = (): unknown => def.run(run.ctx, job.params);
    const goLater = (): Promise<unknown> => Promise.resolve().then(go);
    // a deterministic handler may run before its `started` row is durable, unless traceStarts asks
    // for the journal to name every handler before it runs (a frozen one included)
    if (!def.deterministic || this.p.config.traceStarts) this.settleLater(job, run, this.p.committer.committed().then(goLater));
    else if (this.runningNow) this.settleLater(job, run, goLater());
    else this.runNow(job, run, go);
  }

  private settleLater(job: Job, run: RunRecord, running: Promise<unknown>): void {
    running.then(
      (data) => this.complete(job, run, data),
      (err: unknown) => this.fail(job, err, run),
    );
  }

  /**
   * A deterministic handler, run and settled within this turn: no promise unless it returns one
   * (then it settles as on the promise path). Its finish moves its lane on: the `pump` loop that
   * called `startHead` starts the next head (the lane is `pumping`, so finish's own `pump` returns),
   * and lanes woken by its dependents start their heads with `runningNow` set, so theirs take the
   * promise path: the stack never holds two handlers settled in the turn.
   */
  private runNow(job: Job, run: RunRecord, go: () => unknown): void {
    this.runningNow = true;
    try {
      let data: unknown;
      let later: boolean;
      try {
        data = go();
        later = isThenable(data);
      } catch (err) {
        return this.fail(job, err, run);
      }
      if (later) this.settleLater(job, run, Promise.resolve(data));
      else this.complete(job, run, data);
    } catch (err) {
      // on the promise path a throw while settling was an unhandled rejection: it stays one, and
      // never becomes an error of whatever started the lane (an admission, a timer, a decision)
      void Promise.reject(err);
    } finally {
      this.runningNow = false;
    }
  }

  private complete(job: Job, run: RunRecord, data: unknown): void {
    // timed out, failed closed or abandoned meanwhile (a job the journal never heard of stays
    // "running" after a failed commit, but is aborted): a late completion changes nothing
    if (job.status !== "running" || job.abortReason !== undefined) return;
    if (this.deletedWhileRunning(job)) return this.finish(job, "failed", failure(job.type, "session_not_found", `${sessionNotFound(job.sessionId as string)}: it was deleted while the command ran`));
    const settled = settleResult(settleSubject(job), run, data, this.p.config.limits, this.versionOf);
    if (settled.status === "failed" && settled.outcome.code === "handler_error") this.p.log.warn({ error: settled.outcome.error, commandId: job.id, type: job.type }, "handler failed");
    this.finish(job, settled.status, settled.outcome, { effect: settled.effect, next: settled.status === "succeeded" ? settled.next : undefined, run });
  }

  private fail(job: Job, err: unknown, run?: RunRecord): void {
    if (job.status !== "running" || job.abortReason !== undefined) return; // as in complete()
    // like complete(): a session deleted (or re-created) while the handler ran wins over its error
    if (this.deletedWhileRunning(job)) return this.finish(job, "failed", failure(job.type, "session_not_found", `${sessionNotFound(job.sessionId as string)}: it was deleted while the command ran`));
    const settled = settleError(settleSubject(job), err, this.versionOf);
    if (settled.outcome.code === "handler_error" && !(err instanceof OutcomeError)) this.p.log.warn({ err, commandId: job.id, type: job.type }, "handler failed");
    this.finish(job, "failed", settled.outcome, { run });
  }

  /** A session command whose session was deleted (or re-created) while its handler ran. */
  private deletedWhileRunning(job: Job): boolean {
    if (job.def?.scope !== "session") return false;
    const session = this.p.sessions.get(job.sessionId as string);
    return !session || session.generation !== job.generation;
  }

  private readonly versionOf = (sessionId: string): number | undefined => this.p.sessions.get(sessionId)?.version;

  private versionOutcome(job: Job): Partial<Outcome> {
    return versionOutcome(job, this.p.sessions);
  }

  private timedOut(job: Job, when: string): Outcome {
    return failure(job.type, "timeout", commandTimedOut(job.type, job.timeoutMs, when), { ...this.versionOutcome(job), timedOut: true });
  }

  private armDeadline(job: Job): void {
    const elapsed = Math.max(0, this.p.now() - job.queuedAt);
    const ms = Math.max(0, job.timeoutMs - elapsed);
    job.deadlineTimer = setTimeout(() => {
      if (job.status === "finished") return;
      const wasRunning = job.status === "running";
      abortJob(job, new CausewayError("timeout", "command timed out"));
      this.finish(job, "timed_out", this.timedOut(job, wasRunning ? "while running; its changes were discarded" : "before it started; it will never run"));
    }, ms);
  }

  /** The one place a job gets its terminal outcome. Runs inside the lane, before it moves on. */
  finish(job: Job, status: CommandStatus, outcome: Outcome, extra: FinishExtra = {}): void {
    if (job.status === "finished") return;
    stopTimers(job);
    job.pendingReason = undefined;
    this.pending.leave(job);
    this.p.dependencyLimits.forget(job);
    if (job.waitingOn !== undefined) this.p.jobs.job(job.waitingOn)?.dependents.delete(job);
    job.waitingOn = undefined;
    job.status = "finished";
    job.outcome = outcome;
    job.finalStatus = status;
    if (extra.effect) {
      const applied = this.p.sessions.apply(extra.effect, job.acceptedAt, extra.next);
      job.effect = applied.effect;
      job.effectEntry = applied.entry;
    }
    this.p.jobs.settle(job);
    const lane = this.p.lanes.get(job.lane);
    lane?.remove(job);
    const now = this.p.now();
    const recorded = extra.run?.recorded();
    const detail = recorded || extra.detail ? { ...(recorded ?? {}), ...(extra.detail ?? {}) } : undefined;
    transition(this.p.committer, job, status, finishedRecord(job, now, now + this.p.config.idempotencyTtlMs, detail), (r) => this.publication.finished(job, r, extra.run));
    this.wakeDependents(job);
    if (lane) this.pump(lane);
  }

  /** Jobs in other lanes waiting at their head for `job`: their lanes move on. */
  private wakeDependents(job: Job): void {
    for (const dependent of job.dependents) {
      if (dependent.status !== "waiting" || dependent.waitingOn !== job.id) continue;
      clearTimeout(dependent.waitTimer);
      dependent.status = "queued";
      dependent.waitingOn = undefined;
      const lane = this.p.lanes.get(dependent.lane);
      if (lane) {
        lane.active = null;
        this.pump(lane);
      }
    }
    job.dependents.clear();
  }
}

/** A failure's `sessionVersion`: the session's version now, for a session command. */
export function versionOutcome(job: Job, sessions: SessionTable): Partial<Outcome> {
  return failureVersion({ scope: job.def?.scope ?? "server", sessionId: job.sessionId }, (id) => sessions.get(id)?.version);
}

/** What a promise adopts (as the promise path did): an object or function with a callable `then`. */
function isThenable(v: unknown): boolean {
  return ((typeof v === "object" && v !== null) || typeof v === "function") && typeof (v as { then?: unknown }).then === "function";
}

/** What the settle rule needs of a job. */
function settleSubject(job: Job): SettleSubject {
  const def = job.def as CommandDefinition;
  return { type: job.type, scope: def.scope, effect: def.effect, errorCodes: def.errorCodes, sessionId: job.sessionId };
}
