/**
 * The engine: admission → lane → preconditions → handler → journal → publish.
 *
 * Rules kept here (each in one method):
 * - admission (`submit`): the policy gate (before replay), replay by id / idempotency key, limits
 *   (`busy`), dependency-wait bounds (dependency-limits.ts), cycle check; then the `accepted` row
 *   is appended and the job queued in its lane;
 * - lane head (`startHead`): dependsOn, session existence, ifSessionVersion, then `started` + run;
 * - `finish`: the single way a job gets its terminal outcome, recorded inside the lane before the
 *   lane moves on; dependents waiting in other lanes are woken here;
 * - `published`: runs only after the batch holding the `finished` row committed; responses and
 *   events leave the process here and nowhere else;
 * - `onJournalFailure`: fail closed when a commit fails.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { CommandDefinition } from "../commands/define.js";
import { failureVersion, settleError, settleResult, type SettleSubject } from "../lifecycle/settle.js";
import type { CommandRegistry } from "../commands/registry.js";
import { sessionInfo } from "../commands/session-info.js";
import type { CausewayConfig } from "../config/defaults.js";
import { journalStatus } from "../journal/open.js";
import type { JournalRecord, Store } from "../journal/types.js";
import type { CommandStatus, SessionEffect } from "../lifecycle/status.js";
import { assertTransition } from "../lifecycle/transitions.js";
import { Policy } from "../governance/policy.js";
import { Governor, type Decider, type PendingFilter, type PendingItem } from "./governor.js";
import { CausewayError, OutcomeError } from "../protocol/errors.js";
import { fingerprint } from "../protocol/fingerprint.js";
import { commandTimedOut, dependencyTimedOut, sessionNotFound, unknownCommandType, validationFailed, versionMismatch } from "../protocol/messages.js";
import { failure } from "../protocol/frames.js";
import { ENVELOPE_FIELDS, type CommandEnvelope, type Outcome } from "../protocol/types.js";
import type { Connection } from "../protocol/connection.js";
import { Committer, type NewRecord } from "./committer.js";
import { buildContext, type RunRecord } from "./run-context.js";
import { findCycle, resolveDependencies } from "./dependencies.js";
import { DependencyLimits } from "./dependency-limits.js";
import { abortJob, stopTimers, type Job } from "./job.js";
import { JobTable } from "./jobs.js";
import { LaneSet, SERVER_LANE, sessionLane, type Lane, type LaneInfo, type LaneSnapshot } from "./lanes.js";
import { Publisher, type LifecycleScope, type SubscriptionFilter, type Viewer } from "./publisher.js";
import { journalUnavailable, Responder } from "./responder.js";
import { Duplicates } from "./duplicates.js";
import { CatchUp } from "./catchup.js";
import { acceptedRecord, finishedRecord, lifecycleEvent, phaseRecord } from "./records.js";
import { classifyRecovery, type RecoverySummary } from "./recovery.js";
import { SessionTable, type SessionEntry } from "./session-table.js";
import { commandView, laneTotals, type CommandView, type Decision, type EngineStats } from "./views.js";
import { NOOP_OBSERVER, type EngineObserver } from "../observability/observer.js";

export interface EngineOptions {
  config: CausewayConfig;
  store: Store;
  registry: CommandRegistry;
  log: Logger;
  now?: () => number;
  /** LRU size for finished outcomes looked up from the store */
  outcomeCacheMax?: number;
  /** redaction applied to every journal record before it is persisted (default: none) */
  redact?: (record: NewRecord) => NewRecord;
  /** told about committed facts (metrics); default: nothing */
  observer?: EngineObserver;
  /** the governance policy (default: open — nothing needs approval, nothing is denied) */
  policy?: Policy;
  /** clients authenticate (tokens): command facts reach only connections whose actor may read them */
  authenticated?: boolean;
}

const ENVELOPE = new Set<string>(ENVELOPE_FIELDS);

export class Engine {
  private readonly publisher: Publisher;
  private readonly sessions = new SessionTable();
  private readonly laneSet = new LaneSet();
  private readonly jobs: JobTable;
  private committer!: Committer;
  private catchUp!: CatchUp;
  private recovered: RecoverySummary | null = null;
  private readonly responder: Responder;
  private duplicates!: Duplicates;
  private shuttingDown = false;
  private drainWaiters: Array<() => void> = [];
  private readonly now: () => number;
  private readonly config: CausewayConfig;
  private readonly store: Store;
  private readonly registry: CommandRegistry;
  private readonly log: Logger;
  private readonly redact: ((record: NewRecord) => NewRecord) | undefined;
  private readonly observer: EngineObserver;
  private readonly governor: Governor;
  private readonly dependencyLimits: DependencyLimits;
  private readonly startedAt: number;

  constructor(opts: EngineOptions) {
    this.config = opts.config;
    this.store = opts.store;
    this.registry = opts.registry;
    this.log = opts.log;
    this.now = opts.now ?? Date.now;
    this.redact = opts.redact;
    this.observer = opts.observer ?? NOOP_OBSERVER;
    this.jobs = new JobTable(opts.store, opts.outcomeCacheMax ?? 10_000);
    this.startedAt = this.now();
    const policy = opts.policy ?? Policy.open();
    this.publisher = new Publisher(opts.authenticated ? (conn, sessionId, actor) => policy.mayRead(conn, sessionId, actor) : null);
    this.responder = new Responder(this.publisher);
    this.governor = new Governor(this.governorHost(), policy, opts.store, opts.log, this.now, opts.config.limits);
    this.dependencyLimits = new DependencyLimits({
      jobs: this.jobs,
      policy,
      authenticated: opts.authenticated === true,
      maxDependencyWaitersPerLane: opts.config.limits.maxDependencyWaitersPerLane,
      dependencyWaitMs: opts.config.dependencyWaitMs,
    });
  }

  /** Open the store, rebuild state, journal a verdict for every unfinished command. */
  start(): RecoverySummary {
    const recovered = this.store.open();
    if (recovered.staleLeaseTakenOver) {
      const h = recovered.staleLeaseTakenOver;
      this.log.warn({ previousHolder: h }, `took over the journal lease of pid ${h.pid} on ${h.host}, which did not shut down cleanly`);
    }
    this.sessions.load(recovered.sessions);
    this.committer = new Committer(this.store, recovered.lastSeq, recovered.laneSeqs, this.redact, this.observer);
    this.committer.onFailure((err) => this.onJournalFailure(err));
    this.catchUp = new CatchUp(this.store, this.committer, this.publisher, { pageSize: 500, highWaterBytes: Math.floor(this.config.limits.maxOutboundBytes / 2) });
    this.duplicates = new Duplicates({
      committer: this.committer,
      publisher: this.publisher,
      responder: this.responder,
      maxInFlightPerConnection: this.config.limits.maxInFlightPerConnection,
      now: this.now,
      newCommandId,
      observer: this.observer,
    });
    const summary = classifyRecovery(recovered, {
      registry: this.registry,
      failUnstarted: this.config.failUnstartedOnRecovery,
      maxRecoveryAttempts: this.config.limits.maxRecoveryAttempts,
      now: this.now(),
      journal: journalStatus(this.store),
      sessions: recovered.sessions.length,
    });
    for (const verdict of summary.verdicts) {
      const u = verdict.command;
      const job = this.makeJob({
        id: u.commandId,
        explicitId: u.explicitId,
        def: this.registry.get(u.type),
        type: u.type,
        lane: u.lane,
        sessionId: u.sessionId,
        envelope: rebuildEnvelope(u.type, u.commandId, u.explicitId, u.sessionId, u.dependsOn, u.ifSessionVersion, u.idempotencyKey, u.params),
        params: (u.params ?? {}) as Record<string, unknown>,
        fingerprint: u.fingerprint ?? "",
        idempotencyKey: u.idempotencyKey,
        idempotencyScope: u.idempotencyScope,
        dependsOn: u.dependsOn ?? [],
        ifSessionVersion: u.ifSessionVersion ?? undefined,
        actor: u.actor,
        roles: [],
        timeoutMs: u.timeoutMs ?? this.config.defaultTimeoutMs,
        acceptedAt: u.acceptedAt,
        queuedAt: u.queuedAt ?? u.acceptedAt,
        tags: u.tags,
        notBefore: u.notBefore,
        conn: null,
        replyId: undefined,
      });
      job.durableAccepted = true;
      job.started = u.status === "running";
      job.storeStatus = job.durableStatus = u.status;
      job.revision = job.durableRevision = u.revision;
      if (u.governance) job.governance = u.governance;
      this.jobs.add(job);
      if (verdict.kind === "pending") {
        this.governor.restore(job, u.pendingReason ?? "approval");
      } else if (verdict.kind === "requeue") {
        const to = job.governance && (u.status === "approved" || u.status === "running") ? "approved" : "queued";
        this.transition(job, to, phaseRecord(job, "requeued", this.now(), { reason: verdict.reason }));
        this.laneSet.getOrCreate(job.lane).queue.push(job);
        this.armDeadline(job);
      } else {
        job.status = "finished";
        job.finalStatus = "interrupted";
        job.outcome = failure(job.type, "interrupted", verdict.reason, this.sessionVersionOutcome(job));
        this.jobs.settle(job);
        this.transition(job, "interrupted", finishedRecord(job, this.now(), this.now() + this.config.idempotencyTtlMs, { recovery: verdict.kind }), (r) => this.published(job, r));
      }
    }
    // recovered commands that may still wait for a dependency count towards their lane's bound
    for (const job of this.jobs.jobs()) if (!job.started && job.status !== "finished" && this.dependencyLimits.mayWait(job.lane, job.dependsOn)) this.dependencyLimits.track(job);
    // startup sweep: expire / release what came due while the server was down (each on its own)
    this.governor.sweep();
    if (!this.committer.flushNow()) {
      throw Object.assign(new Error(`could not journal the startup recovery verdicts: ${this.committer.stats.lastError}`), { code: "journal_unavailable" });
    }
    this.recovered = summary.summary;
    for (const lane of this.laneSet.all()) this.pump(lane);
    return summary.summary;
  }

  /** The startup recovery summary (null until start() finished). */
  recovery(): RecoverySummary | null {
    return this.recovered;
  }

  // ---------------------------------------------------------------- connections

  connect(conn: Connection): void {
    this.publisher.add(conn);
  }

  disconnect(conn: Connection): void {
    this.publisher.remove(conn);
    this.responder.forget(conn);
    for (const job of this.jobs.jobs()) if (job.conn === conn) job.conn = null;
  }

  // ---------------------------------------------------------------- figures and reads

  /** The engine's figures; `excluding`: the asking command, left out of in-flight and lane figures. */
  stats(excluding?: string): EngineStats {
    const self = excluding !== undefined && this.jobs.job(excluding) !== undefined ? 1 : 0;
    return {
      uptimeMs: this.now() - this.startedAt,
      sessions: this.sessions.size(),
      connections: this.publisher.count(),
      inFlight: this.jobs.size - self,
      pending: this.governor.pendingCount(),
      ...laneTotals(this.laneSnapshots(excluding)),
      lastSeq: this.committer.lastSeq(),
      commits: { ...this.committer.stats },
      cache: this.jobs.cacheStats(),
    };
  }

  /** Every lane holding a command: its depth and whether its head runs (`excluding` left out). */
  laneSnapshots(excluding?: string): LaneSnapshot[] {
    return this.laneSet.all().map((l) => l.snapshot(excluding));
  }

  /** `get_lanes`: each lane that holds more than the `excluding` command, inspected. */
  inspectLanes(now: number, queuedLimit: number, excluding?: string): LaneInfo[] {
    return this.laneSet
      .all()
      .filter((l) => l.snapshot(excluding).depth > 0)
      .map((l) => l.inspect(now, queuedLimit));
  }

  /** A command in flight as the engine holds it now; undefined once finished (the journal tells). */
  command(commandId: string): CommandView | undefined {
    const job = this.jobs.job(commandId);
    return job && commandView(job);
  }

  /** A session's working entry (what lanes execute against). */
  session(sessionId: string): Pick<SessionEntry, "sessionId" | "version" | "createdAt"> | undefined {
    return this.sessions.get(sessionId);
  }

  /** Read visibility: may `viewer` see a command of `actor` in `sessionId` (null: the server lane)? */
  mayRead(viewer: Viewer, sessionId: string | null, actor: string): boolean {
    return this.publisher.visibleTo(viewer, sessionId, actor);
  }

  // ---------------------------------------------------------------- subscriptions

  /** Attach a live subscription; false if `conn` already follows `maxSessions` sessions. */
  subscribe(conn: Connection, filter: SubscriptionFilter, maxSessions: number): boolean {
    if (filter.all) {
      this.publisher.subscribeAll(conn);
      return true;
    }
    return this.publisher.subscribeSession(conn, filter.sessionId!, maxSessions);
  }

  /** Would subscribe() accept this filter (the per-connection session bound)? */
  maySubscribe(conn: Connection, filter: SubscriptionFilter, maxSessions: number): boolean {
    return filter.all || this.publisher.canSubscribeSession(conn, filter.sessionId!, maxSessions);
  }

  unsubscribe(conn: Connection, sessionId?: string): void {
    this.publisher.unsubscribe(conn, sessionId);
  }

  subscriptions(conn: Connection): { all: boolean; sessions: string[]; lifecycle: LifecycleScope } {
    return this.publisher.subscriptions(conn);
  }

  setLifecycleScope(conn: Connection, scope: LifecycleScope): void {
    this.publisher.setLifecycle(conn, scope);
  }

  /** Resumable subscription, first step: hold back live events matching `filter` (they will replay). */
  holdCatchUp(conn: Connection, filter: SubscriptionFilter): void {
    this.catchUp.hold(conn, filter);
  }

  /** Second step: replay the journal after `fromSeq`, then `attach` the live subscription. */
  startCatchUp(conn: Connection, filter: SubscriptionFilter, fromSeq: number, attach: () => void): void {
    this.catchUp.start(conn, filter, fromSeq, attach);
  }

  // ---------------------------------------------------------------- governance decisions

  /** approve / reject / cancel another command; answers once the decision is journaled. */
  decide(decider: Decider, d: Decision): Promise<Outcome> {
    if (d.kind === "approve") return this.governor.approve(decider, d);
    if (d.kind === "reject") return this.governor.reject(decider, d);
    return this.governor.cancel(decider, d);
  }

  /** Commands waiting for approval, their schedule or a dependency (list_pending). */
  pendingList(filter: PendingFilter): { items: PendingItem[]; total: number } {
    return this.governor.list(filter);
  }

  // ---------------------------------------------------------------- admission

  /** A validated envelope of a lane (journaled) command. */
  submit(conn: Connection, env: CommandEnvelope): void {
    const def = this.registry.get(env.type);
    if (!def) {
      this.responder.refuse(conn, env.id, failure(env.type, "unknown_command", unknownCommandType(env.type)));
      return;
    }
    if (this.shuttingDown) {
      this.responder.refuse(conn, env.id, failure(env.type, "shutting_down", "the server is shutting down and accepts no new commands"));
      return;
    }
    const fp = fingerprint(env);
    const now = this.now();
    const id = env.id ?? newCommandId();
    const params = paramsOf(env, def);
    // the session a command acts on decides its lane; its idempotency keys are scoped by its kind
    // (session commands per session, server commands server-wide: pi-server PROTOCOL §8.2)
    const target = def.scope === "session" ? (env.sessionId as string) : def.targetSession?.of(params, id);
    const lane = target !== undefined ? sessionLane(target) : SERVER_LANE;
    const keyScope = def.scope === "session" ? lane : SERVER_LANE;
    if (env.ifSessionVersion !== undefined && def.scope !== "session" && def.targetSession?.ifSessionVersion !== true) {
      this.responder.refuse(conn, env.id, failure(env.type, "invalid_command", validationFailed("ifSessionVersion: Only supported for session-targeted commands")));
      return;
    }
    // the role gate and deny rules come before replay: a refused actor gets no stored outcome either
    const gate = this.governor.gate(conn, env, target ?? null);
    if (!gate.ok) {
      this.responder.refuse(conn, env.id, gate.outcome);
      return;
    }

    if (env.id !== undefined) {
      const inflight = this.jobs.job(env.id);
      if (inflight) return this.duplicates.inFlight(conn, env, inflight, fp, "id");
      const known = this.jobs.knownInStore(env.id);
      const done = known ? this.jobs.finished(env.id) : undefined;
      if (done) return this.duplicates.stored(conn, env, done, fp, "id");
      if (known) {
        this.responder.refuse(conn, env.id, failure(env.type, "journal_unavailable", `command ${env.id} is journaled but not in memory; retry shortly`));
        return;
      }
    }
    if (env.idempotencyKey !== undefined) {
      const inflight = this.jobs.jobByKey(keyScope, env.idempotencyKey);
      if (inflight) return this.duplicates.inFlight(conn, env, inflight, fp, "idempotencyKey");
      const hit = this.store.getIdempotency(keyScope, env.idempotencyKey, now);
      const done = hit ? this.jobs.finished(hit.commandId) : undefined;
      if (done) return this.duplicates.stored(conn, env, done, fp, "idempotencyKey");
    }

    const { limits } = this.config;
    if (this.responder.inflight(conn) >= limits.maxInFlightPerConnection) {
      this.responder.refuse(conn, env.id, failure(env.type, "busy", `this connection already has ${limits.maxInFlightPerConnection} commands in flight (maxInFlightPerConnection)`));
      return;
    }
    if (this.laneSet.queueLength(lane) >= limits.maxQueuePerLane) {
      this.responder.refuse(conn, env.id, failure(env.type, "busy", `lane ${lane} already holds ${limits.maxQueuePerLane} commands (maxQueuePerLane); retry later`));
      return;
    }
    // a repeated dependency counts once
    const dependsOn = env.dependsOn === undefined ? [] : env.dependsOn.length > 1 ? [...new Set(env.dependsOn)] : env.dependsOn;
    const waits = this.dependencyLimits.check({ type: env.type, lane, sessionId: target, dependsOn, actor: conn.actor, roles: conn.roles });
    if (waits.refusal) {
      this.responder.refuse(conn, env.id, waits.refusal);
      return;
    }
    if (env.id !== undefined) {
      const laneObj = this.laneSet.get(lane);
      const cycle = findCycle(env.id, lane, dependsOn, laneObj?.predecessorOf(null), this.jobs, (j) => this.laneSet.get(j.lane)?.predecessorOf(j));
      if (cycle) {
        this.responder.refuse(conn, env.id, failure(env.type, "dependency_cycle", `dependsOn would create a wait cycle: ${cycle.join(" → ")}`));
        return;
      }
    }

    const admission = this.governor.admit(conn, env, target ?? null, gate.verdict);
    if (!admission.ok) {
      this.responder.refuse(conn, env.id, admission.outcome);
      return;
    }

    const job = this.makeJob({
      id,
      explicitId: env.id !== undefined,
      def,
      type: def.type,
      lane,
      sessionId: target ?? null,
      envelope: env,
      params,
      fingerprint: fp,
      idempotencyKey: env.idempotencyKey ?? null,
      idempotencyScope: env.idempotencyKey !== undefined ? keyScope : null,
      dependsOn,
      ifSessionVersion: env.ifSessionVersion,
      actor: conn.actor,
      roles: conn.roles,
      timeoutMs: this.timeoutFor(def, env),
      acceptedAt: now,
      queuedAt: now,
      tags: env.tags ?? [],
      notBefore: env.notBefore ?? null,
      conn,
      replyId: env.id,
    });
    this.jobs.add(job);
    if (waits.mayWait) this.dependencyLimits.track(job);
    this.responder.owe(conn);
    this.committer.append(acceptedRecord(job, now), {
      onCommit: (r) => {
        job.durableAccepted = true;
        this.observer.accepted(job.type, job.lane);
        this.publishLifecycle("command_accepted", job, r);
      },
    });
    if (this.governor.afterAccept(job, admission)) return; // pending: outside its lane until released
    this.enqueue(job, now);
  }

  /** Put an admitted (or just released / approved) command at the tail of its lane queue. */
  private enqueue(job: Job, at: number): void {
    job.status = "queued";
    job.queuedAt = at;
    const laneObj = this.laneSet.getOrCreate(job.lane);
    laneObj.queue.push(job);
    this.armDeadline(job);
    this.pump(laneObj);
  }

  /**
   * THE way the engine changes a command's status: the edge must be in the transition table, the
   * revision goes up by one, and the row's CAS (`revision = n - 1`) is re-checked by the store.
   */
  private transition(job: Job, to: CommandStatus, record: NewRecord, onCommit?: (r: JournalRecord) => void): void {
    assertTransition(job.id, job.storeStatus, to);
    job.revision += 1;
    job.storeStatus = to;
    const revision = job.revision;
    this.committer.append(
      { ...record, status: to, revision },
      {
        onCommit: (r) => {
          job.durableStatus = to;
          job.durableRevision = revision;
          onCommit?.(r);
        },
      },
    );
  }

  // ---------------------------------------------------------------- lanes

  private pump(lane: Lane): void {
    if (lane.pumping) return;
    lane.pumping = true;
    try {
      while (lane.active === null && lane.length > 0) this.startHead(lane, lane.head()!);
    } finally {
      lane.pumping = false;
      this.laneSet.dropIfEmpty(lane);
    }
  }

  private startHead(lane: Lane, job: Job): void {
    // one clock reading decides the deadline AND stamps the started row: a command can never be
    // recorded as starting after the deadline it was checked against
    const now = this.now();
    if (now >= job.queuedAt + job.timeoutMs) {
      // its deadline passed while it waited (event-loop lag, or a restart): it must never start
      return this.finish(job, "timed_out", failure(job.type, "timeout", commandTimedOut(job.type, job.timeoutMs, "before it started; it will never run"), { ...this.sessionVersionOutcome(job), timedOut: true }));
    }
    const verdict = resolveDependencies(job, this.jobs);
    if (verdict.kind === "fail") return this.finish(job, "failed", failure(job.type, verdict.code, verdict.error, this.sessionVersionOutcome(job)));
    if (verdict.kind === "wait") {
      job.status = "waiting";
      job.waitingOn = verdict.on.id;
      verdict.on.dependents.add(job);
      lane.active = job;
      const ms = this.config.dependencyWaitMs;
      job.waitTimer = setTimeout(() => {
        this.finish(job, "failed", failure(job.type, "dependency_timeout", dependencyTimedOut(verdict.on.id, ms), this.sessionVersionOutcome(job)));
      }, ms);
      return;
    }
    const def = job.def as CommandDefinition;
    const session = job.sessionId !== null ? this.sessions.get(job.sessionId) : undefined;
    let revalidated: Record<string, unknown> | undefined;
    if (def.scope === "session" || def.targetSession?.mustExist === true) {
      if (!session) {
        const why = job.ifSessionVersion !== undefined ? `${sessionNotFound(job.sessionId as string)} for ifSessionVersion=${job.ifSessionVersion}` : sessionNotFound(job.sessionId as string);
        return this.finish(job, "failed", failure(job.type, "session_not_found", why));
      }
      const stale = this.governor.checkStale(job, session.version);
      if (stale.kind === "reject") return this.finish(job, "failed", failure(job.type, "version_conflict", stale.error, { sessionVersion: session.version }), undefined, undefined, stale.detail);
      if (stale.kind === "renewed") {
        lane.remove(job);
        lane.active = null;
        return;
      }
      if (stale.kind === "revalidate") revalidated = stale.detail;
      if (job.ifSessionVersion !== undefined && session.version !== job.ifSessionVersion) {
        return this.finish(job, "failed", failure(job.type, "version_conflict", versionMismatch(job.ifSessionVersion, session.version), { sessionVersion: session.version }));
      }
      job.generation = session.generation;
    }
    job.status = "running";
    job.started = true;
    job.startedAt = now;
    lane.active = job;
    // the claim: queued|approved → running, a CAS on the revision; a later cancel finds it running
    this.transition(job, "running", phaseRecord(job, "started", job.startedAt, revalidated), (r) => {
      this.observer.started(job.type, job.lane, r.recordedAt - job.queuedAt);
      this.publishLifecycle("command_started", job, r);
    });
    const run = buildContext(job, { sessions: this.sessions, log: this.log, maxSessions: this.config.limits.maxSessions, now: this.now });
    const go = (): Promise<unknown> => Promise.resolve().then(() => def.run(run.ctx, job.params));
    // a deterministic handler may run before its `started` row is durable, unless traceStarts asks
    // for the journal to name every handler before it runs (a frozen one included)
    const running = def.deterministic && !this.config.traceStarts ? go() : this.committer.committed().then(go);
    running.then(
      (data) => this.complete(job, run, data),
      (err: unknown) => this.fail(job, err, run),
    );
  }

  private complete(job: Job, run: RunRecord, data: unknown): void {
    // timed out, failed closed or abandoned meanwhile (a job the journal never heard of stays
    // "running" after a failed commit, but is aborted): a late completion changes nothing
    if (job.status !== "running" || job.abortReason !== undefined) return;
    if (this.deletedWhileRunning(job)) return this.finish(job, "failed", failure(job.type, "session_not_found", `${sessionNotFound(job.sessionId as string)}: it was deleted while the command ran`));
    const settled = settleResult(settleSubject(job), run, data, this.config.limits, this.versionOf);
    if (settled.status === "failed" && settled.outcome.code === "handler_error") this.log.warn({ error: settled.outcome.error, commandId: job.id, type: job.type }, "handler failed");
    this.finish(job, settled.status, settled.outcome, settled.effect, run);
  }

  private fail(job: Job, err: unknown, run?: RunRecord): void {
    if (job.status !== "running" || job.abortReason !== undefined) return; // as in complete()
    // like complete(): a session deleted (or re-created) while the handler ran wins over its error
    if (this.deletedWhileRunning(job)) return this.finish(job, "failed", failure(job.type, "session_not_found", `${sessionNotFound(job.sessionId as string)}: it was deleted while the command ran`));
    const settled = settleError(settleSubject(job), err, this.versionOf);
    if (settled.outcome.code === "handler_error" && !(err instanceof OutcomeError)) this.log.warn({ err, commandId: job.id, type: job.type }, "handler failed");
    this.finish(job, "failed", settled.outcome, undefined, run);
  }

  /** A session command whose session was deleted (or re-created) while its handler ran. */
  private deletedWhileRunning(job: Job): boolean {
    if (job.def?.scope !== "session") return false;
    const session = this.sessions.get(job.sessionId as string);
    return !session || session.generation !== job.generation;
  }

  private readonly versionOf = (sessionId: string): number | undefined => this.sessions.get(sessionId)?.version;

  private armDeadline(job: Job): void {
    const elapsed = Math.max(0, this.now() - job.queuedAt);
    const ms = Math.max(0, job.timeoutMs - elapsed);
    job.deadlineTimer = setTimeout(() => {
      if (job.status === "finished") return;
      const wasRunning = job.status === "running";
      abortJob(job, new CausewayError("timeout", "command timed out"));
      const when = wasRunning ? "while running; its changes were discarded" : "before it started; it will never run";
      this.finish(job, "timed_out", failure(job.type, "timeout", commandTimedOut(job.type, job.timeoutMs, when), { ...this.sessionVersionOutcome(job), timedOut: true }));
    }, ms);
  }

  /** The one place a job gets its terminal outcome. Runs inside the lane, before it moves on. */
  private finish(job: Job, status: CommandStatus, outcome: Outcome, effect?: SessionEffect, run?: RunRecord, detail?: Record<string, unknown>): void {
    if (job.status === "finished") return;
    stopTimers(job);
    job.pendingReason = undefined;
    this.governor.forget(job);
    this.dependencyLimits.forget(job);
    if (job.waitingOn !== undefined) this.jobs.job(job.waitingOn)?.dependents.delete(job);
    job.waitingOn = undefined;
    job.status = "finished";
    job.outcome = outcome;
    job.finalStatus = status;
    if (effect) {
      job.effect = effect;
      job.effectEntry = this.sessions.apply(effect, job.acceptedAt);
    }
    this.jobs.settle(job);
    const lane = this.laneSet.get(job.lane);
    lane?.remove(job);
    const now = this.now();
    const recorded = run?.recorded();
    const extra = recorded || detail ? { ...(recorded ?? {}), ...(detail ?? {}) } : undefined;
    this.transition(job, status, finishedRecord(job, now, now + this.config.idempotencyTtlMs, extra), (r) => this.published(job, r, run));
    for (const dependent of job.dependents) {
      if (dependent.status !== "waiting" || dependent.waitingOn !== job.id) continue;
      clearTimeout(dependent.waitTimer);
      dependent.status = "queued";
      dependent.waitingOn = undefined;
      const dl = this.laneSet.get(dependent.lane);
      if (dl) {
        dl.active = null;
        this.pump(dl);
      }
    }
    job.dependents.clear();
    if (lane) this.pump(lane);
  }

  /** The `finished` row is committed: now, and only now, the world hears about it. */
  private published(job: Job, record: JournalRecord, run?: RunRecord): void {
    if (job.effect) this.sessions.commit(job.effect, job.effectEntry);
    this.publishLifecycle("command_finished", job, record, job.outcome);
    this.observer.finished({ commandId: job.id, type: job.type, lane: job.lane, status: job.finalStatus!, code: job.outcome?.success ? null : (job.outcome?.code ?? null), acceptedAt: job.acceptedAt, startedAt: job.startedAt ?? null, finishedAt: record.recordedAt });
    if (job.outcome?.success) for (const e of run?.events ?? []) this.publisher.event(e.sessionId, { type: "event", sessionId: e.sessionId, event: e.event });
    if (job.effect?.kind === "create") {
      this.publisher.broadcast({ type: "session_created", data: { sessionId: job.effect.sessionId, sessionInfo: sessionInfo({ sessionId: job.effect.sessionId, sessionVersion: 0, createdAt: job.acceptedAt }) } });
    } else if (job.effect?.kind === "delete") {
      this.publisher.dropSession(job.effect.sessionId);
      this.publisher.broadcast({ type: "session_deleted", data: { sessionId: job.effect.sessionId } });
    }
    if (!job.responded) {
      job.responded = true;
      this.responder.respond(job.conn, job.replyId, job.outcome!);
      const after = job.def?.operator?.afterResponse;
      if (after && job.outcome?.success) after({ commandId: job.id, conn: job.conn, envelope: job.envelope, actor: job.actor, roles: job.roles });
    }
    this.jobs.remove(job);
    const attached = job.attached.splice(0);
    if (attached.length > 0) {
      const ref = this.jobs.finished(job.id);
      for (const a of attached) {
        if (ref) this.duplicates.replay(a.conn, a.replyId, ref, a.by);
        else this.responder.respond(a.conn, a.replyId, journalUnavailable(job.type));
      }
    }
    this.checkDrained();
  }

  private publishLifecycle(type: "command_accepted" | "command_started" | "command_finished", job: Job, record: JournalRecord, outcome?: Outcome): void {
    this.publisher.command(job.sessionId, job.actor, lifecycleEvent(type, record, job, job.id, outcome), job.conn);
  }

  // ---------------------------------------------------------------- journal failure

  /**
   * A commit failed. Nothing of that batch is visible and nothing that depended on it may be
   * acknowledged: every job in flight fails with `journal_unavailable`. Jobs whose `accepted` row
   * was already durable get a terminal repair row in the next batch; the others are forgotten (the
   * journal never heard of them). Working session state falls back to the committed state.
   */
  private onJournalFailure(err: unknown): void {
    this.log.error({ err }, "journal commit failed; failing in-flight commands with journal_unavailable");
    this.sessions.rollback();
    const jobs = this.jobs.jobs();
    this.jobs.clear();
    this.laneSet.clear();
    this.dependencyLimits.clear();
    for (const job of jobs) {
      stopTimers(job);
      abortJob(job, new CausewayError("journal_unavailable", "journal unavailable"));
      job.dependents.clear();
      const outcome = journalUnavailable(job.type);
      if (!job.responded) {
        job.responded = true;
        this.responder.respond(job.conn, job.replyId, outcome);
      }
      for (const a of job.attached.splice(0)) this.responder.respond(a.conn, a.replyId, outcome);
      if (!job.durableAccepted) continue;
      job.status = "finished";
      job.finalStatus = "failed";
      job.outcome = outcome;
      job.effect = undefined;
      job.effectEntry = undefined;
      this.jobs.add(job);
      this.jobs.settle(job);
      const now = this.now();
      // nothing of the failed batch exists: the repair row starts from the last committed status
      job.storeStatus = job.durableStatus;
      job.revision = job.durableRevision;
      // the key is released at once (expires now) so a retry with it can execute
      this.transition(job, "failed", finishedRecord(job, now, now, { repair: "journal_unavailable" }), (r) => this.published(job, r));
    }
    this.checkDrained();
  }

  // ---------------------------------------------------------------- helpers

  private sessionVersionOutcome(job: Job): Partial<Outcome> {
    return failureVersion({ scope: job.def?.scope ?? "server", sessionId: job.sessionId }, this.versionOf);
  }

  private timeoutFor(def: CommandDefinition, env: CommandEnvelope): number {
    const requested = typeof env.timeoutMs === "number" ? env.timeoutMs : undefined;
    const ms = requested ?? this.config.timeouts[def.type] ?? def.timeoutMs ?? this.config.defaultTimeoutMs;
    return Math.min(ms, this.config.limits.maxTimeoutMs);
  }

  private makeJob(init: Omit<Job, "status" | "durableAccepted" | "started" | "responded" | "dependents" | "attached" | "storeStatus" | "revision" | "durableStatus" | "durableRevision">): Job {
    // every field, optional ones included, in one fixed order: all jobs share one hidden class, so
    // the engine's property accesses stay monomorphic (fields added later in varying orders made
    // them polymorphic)
    return {
      id: init.id,
      explicitId: init.explicitId,
      def: init.def,
      type: init.type,
      lane: init.lane,
      sessionId: init.sessionId,
      envelope: init.envelope,
      params: init.params,
      fingerprint: init.fingerprint,
      idempotencyKey: init.idempotencyKey,
      idempotencyScope: init.idempotencyScope,
      dependsOn: init.dependsOn,
      ifSessionVersion: init.ifSessionVersion,
      actor: init.actor,
      roles: init.roles,
      timeoutMs: init.timeoutMs,
      acceptedAt: init.acceptedAt,
      queuedAt: init.queuedAt,
      tags: init.tags,
      notBefore: init.notBefore,
      conn: init.conn,
      replyId: init.replyId,
      status: "queued",
      durableAccepted: false,
      started: false,
      startedAt: undefined,
      outcome: undefined,
      finalStatus: undefined,
      effect: undefined,
      effectEntry: undefined,
      responded: false,
      controller: undefined,
      abortReason: undefined,
      deadlineTimer: undefined,
      waitTimer: undefined,
      waitingOn: undefined,
      dependents: new Set(),
      attached: [],
      generation: undefined,
      storeStatus: "queued",
      revision: 0,
      durableStatus: "queued",
      durableRevision: 0,
      pendingReason: undefined,
      governance: undefined,
      pendingTimer: undefined,
    };
  }

  /** What the governor may do to jobs: the same transition / finish / enqueue the engine uses. */
  private governorHost(): import("./governor.js").GovernorHost {
    return {
      jobs: this.jobs,
      sessions: this.sessions,
      publisher: this.publisher,
      responder: this.responder,
      transition: (job, to, record, onCommit) => this.transition(job, to, record, onCommit),
      finish: (job, status, outcome, detail) => this.finish(job, status, outcome, undefined, undefined, detail),
      enqueue: (job, at) => this.enqueue(job, at),
      committed: () => this.committer.committed(),
    };
  }

  // ---------------------------------------------------------------- lifecycle of the server

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  beginShutdown(): void {
    this.shuttingDown = true;
  }

  /** Tell every connection the server is going down, and how long it waits for commands in flight. */
  broadcastShutdown(reason: string, timeoutMs: number): void {
    this.publisher.broadcast({ type: "server_shutdown", data: { reason, timeoutMs } });
  }

  /** Resolves when no command is in flight and the journal buffer is empty, or after `timeoutMs`. */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.isDrained()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.drainWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Pending commands (approval, schedule) do not hold up a drain: they are durable and resume on restart. */
  private busyJobs(): number {
    return this.jobs.size - this.governor.pendingCount();
  }

  private isDrained(): boolean {
    return this.busyJobs() === 0 && !this.committer.hasUncommitted();
  }

  private checkDrained(): void {
    if (this.drainWaiters.length === 0) return;
    if (this.busyJobs() !== 0) return;
    void this.committer.idle().then(() => {
      if (!this.isDrained()) return;
      const waiters = this.drainWaiters.splice(0);
      for (const w of waiters) w();
    });
  }


  /** Stop timers of whatever is still in flight (after a drain timeout); recovery handles it on restart. */
  abandon(): void {
    for (const job of this.jobs.jobs()) {
      stopTimers(job);
      abortJob(job, new CausewayError("shutting_down", "server stopped"));
    }
  }
}

/** The handler's params: every field that is not an envelope field (server commands keep `sessionId`). */
function paramsOf(env: CommandEnvelope, def: CommandDefinition): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(env)) if (!ENVELOPE.has(k)) params[k] = v;
  if (def.scope === "server" && env.sessionId !== undefined) params.sessionId = env.sessionId;
  return params;
}

/** What the settle rule needs of a job. */
function settleSubject(job: Job): SettleSubject {
  const def = job.def as CommandDefinition;
  return { type: job.type, scope: def.scope, effect: def.effect, errorCodes: def.errorCodes, sessionId: job.sessionId };
}

export function newCommandId(): string {
  return `cmd_${randomUUID()}`;
}

function rebuildEnvelope(type: string, id: string, explicitId: boolean, sessionId: string | null, dependsOn: string[] | null, ifSessionVersion: number | null, idempotencyKey: string | null, params: unknown): CommandEnvelope {
  const env: CommandEnvelope = { type };
  if (explicitId) env.id = id;
  if (sessionId !== null) env.sessionId = sessionId;
  if (dependsOn && dependsOn.length > 0) env.dependsOn = dependsOn;
  if (ifSessionVersion !== null) env.ifSessionVersion = ifSessionVersion;
  if (idempotencyKey !== null) env.idempotencyKey = idempotencyKey;
  Object.assign(env, params ?? {});
  return env;
}
