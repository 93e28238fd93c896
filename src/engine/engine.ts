/**
 * The engine: admission → lane → preconditions → handler → journal → publish. This file is its
 * façade and its wiring; nothing outside src/engine/ reaches a job, a lane or a table. The parts:
 *
 * - admission.ts: the order of checks a submission passes, then the `accepted` row;
 * - runner.ts: lanes run one job at a time; the lane-head checks; `finish`, the single way a job
 *   gets its terminal outcome;
 * - governor.ts decides on governed and scheduled commands; pending.ts applies its verdicts;
 * - publication.ts: responses and events leave the process only once their row committed;
 * - startup.ts applies the recovery verdicts (recovery.ts); journal-failure.ts fails closed when
 *   a commit fails; drain.ts waits for commands in flight at shutdown.
 */
import type { Logger } from "pino";
import type { CommandRegistry } from "../commands/registry.js";
import type { CausewayConfig } from "../config/defaults.js";
import { Policy } from "../governance/policy.js";
import { journalStatus } from "../journal/open.js";
import type { RecoveredState, Store } from "../journal/types.js";
import { NOOP_OBSERVER, type EngineObserver } from "../observability/observer.js";
import type { Connection } from "../protocol/connection.js";
import type { CommandEnvelope, Outcome } from "../protocol/types.js";
import { Admitter } from "./admission.js";
import { CatchUp } from "./catchup.js";
import { Committer, type NewRecord } from "./committer.js";
import { DependencyLimits } from "./dependency-limits.js";
import { Drain } from "./drain.js";
import { Duplicates } from "./duplicates.js";
import { Governor, type Decider } from "./governor.js";
import { failClosed } from "./journal-failure.js";
import { JobTable } from "./jobs.js";
import { LaneSet, SERVER_LANE, type LaneSnapshot } from "./lanes.js";
import { Takeover, type ForwardedDecision } from "./takeover.js";
import { type LaneInfo } from "../protocol/snapshots.js";
import { newCommandId } from "./make-job.js";
import type { EngineParts } from "./parts.js";
import { PendingCommands } from "./pending.js";
import { Publication } from "./publication.js";
import { Publisher, type LifecycleScope, type SubscriptionFilter, type Viewer } from "./publisher.js";
import { classifyRecovery, type RecoverySummary } from "./recovery.js";
import { Responder } from "./responder.js";
import { LaneRunner } from "./runner.js";
import { SessionTable, type SessionEntry } from "./session-table.js";
import { applyRecovery } from "./startup.js";
import { commandView, laneTotals, pendingItems, type CommandView, type Decision, type EngineStats, type PendingFilter, type PendingItem } from "./views.js";

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

/** The parts that exist once the journal is open (start()). */
interface Running {
  parts: EngineParts;
  admitter: Admitter;
  pending: PendingCommands;
  catchUp: CatchUp;
  drain: Drain;
  /** a journal shared by several nodes: lane ownership, takeover, forwarded decisions */
  takeover: Takeover | null;
}

export class Engine {
  private readonly opts: EngineOptions;
  private readonly now: () => number;
  private readonly startedAt: number;
  private readonly publisher: Publisher;
  private readonly responder: Responder;
  private readonly sessions = new SessionTable();
  private readonly laneSet = new LaneSet();
  private readonly jobs: JobTable;
  private readonly governor: Governor;
  private readonly dependencyLimits: DependencyLimits;
  private running: Running | null = null;
  private recovered: RecoverySummary | null = null;
  private shuttingDown = false;

  constructor(opts: EngineOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
    this.jobs = new JobTable(opts.store, opts.outcomeCacheMax ?? 10_000);
    const policy = opts.policy ?? Policy.open();
    this.publisher = new Publisher(opts.authenticated ? (conn, sessionId, actor) => policy.mayRead(conn, sessionId, actor) : null);
    this.responder = new Responder(this.publisher);
    this.governor = new Governor(policy, { job: (id) => this.jobs.job(id), stored: (id) => opts.store.getCommand(id) }, opts.config.limits);
    this.dependencyLimits = new DependencyLimits({
      jobs: this.jobs,
      policy,
      authenticated: opts.authenticated === true,
      maxDependencyWaitersPerLane: opts.config.limits.maxDependencyWaitersPerLane,
      dependencyWaitMs: opts.config.dependencyWaitMs,
    });
  }

  /** Open the store, rebuild state, journal a verdict for every unfinished command, start the lanes. */
  start(): RecoverySummary {
    const { store, config, registry, log } = this.opts;
    const recovered = store.open();
    if (recovered.staleLeaseTakenOver) {
      const h = recovered.staleLeaseTakenOver;
      log.warn({ previousHolder: h }, `took over the journal lease of pid ${h.pid} on ${h.host}, which did not shut down cleanly`);
    }
    this.sessions.load(recovered.sessions);
    const run = this.wire(recovered);
    const summary = classifyRecovery(recovered, {
      registry,
      failUnstarted: config.failUnstartedOnRecovery,
      maxRecoveryAttempts: config.limits.maxRecoveryAttempts,
      now: this.now(),
      journal: journalStatus(store),
      sessions: recovered.sessions.length,
    });
    applyRecovery(run.parts, run, summary.verdicts);
    this.recovered = summary.summary;
    run.runner.pumpAll();
    if (run.takeover) this.startTakeover(run.takeover);
    return summary.summary;
  }

  /** A shared journal: the orphan sweep, and the decisions other nodes forward here. */
  private startTakeover(takeover: Takeover): void {
    takeover.own.onMessage(async (m) => {
      const msg = m as ForwardedDecision;
      if (msg?.kind !== "decide") throw new Error("unknown message");
      return this.live.pending.decide(msg.decider, msg.decision);
    });
    takeover.start(Math.max(100, Math.floor(this.opts.config.redisLeaseTtlMs / 4)));
  }

  /** Build the parts that need the journal's sequence numbers, and connect them. */
  private wire(recovered: RecoveredState): Running & { runner: LaneRunner; publication: Publication } {
    const { store, config, registry, log, redact } = this.opts;
    const observer = this.opts.observer ?? NOOP_OBSERVER;
    const committer = new Committer(store, recovered.lastSeq, recovered.laneSeqs, redact, observer);
    const { jobs, sessions, publisher, responder, governor, dependencyLimits, now } = this;
    const serverLane = store.ownership?.serverLane ?? SERVER_LANE;
    const parts: EngineParts = { config, store, registry, log, now, observer, jobs, lanes: this.laneSet, sessions, publisher, responder, committer, dependencyLimits, governor, serverLane };
    const duplicates = new Duplicates({ committer, publisher, responder, maxInFlightPerConnection: config.limits.maxInFlightPerConnection, now, newCommandId, observer });
    // the parts call each other through these late-bound references (every one exists before a command arrives)
    let pending!: PendingCommands;
    const drain = new Drain(parts, () => pending.size);
    const publication = new Publication(parts, duplicates, () => drain.check());
    const runner = new LaneRunner(parts, publication, { leave: (job) => pending.leave(job), park: (job, v) => pending.park(job, v) });
    pending = new PendingCommands(parts, runner, publication);
    committer.onFailure((err) => {
      failClosed(parts, publication, (job) => pending.leave(job), err);
      drain.check();
    });
    const catchUp = new CatchUp(store, committer, publisher, { pageSize: 500, highWaterBytes: Math.floor(config.limits.maxOutboundBytes / 2) });
    const takeover = store.ownership ? new Takeover(parts, { runner, pending, publication }, store.ownership) : null;
    const admitter = new Admitter(parts, { duplicates, runner, pending, publication, takeover, shuttingDown: () => this.shuttingDown });
    this.running = { parts, admitter, pending, catchUp, drain, takeover };
    return { ...this.running, runner, publication };
  }

  private get live(): Running {
    if (!this.running) throw new Error("the engine has not been started");
    return this.running;
  }

  /** The startup recovery summary (null until start() finished). */
  recovery(): RecoverySummary | null {
    return this.recovered;
  }

  // ---------------------------------------------------------------- connections and admission

  connect(conn: Connection): void {
    this.publisher.add(conn);
  }

  disconnect(conn: Connection): void {
    this.publisher.remove(conn);
    this.responder.forget(conn);
    for (const job of this.jobs.jobs()) if (job.conn === conn) job.conn = null;
  }

  /** A validated envelope of a lane (journaled) command: admitted, replayed or refused. */
  submit(conn: Connection, env: CommandEnvelope): void {
    this.live.admitter.submit(conn, env);
  }

  // ---------------------------------------------------------------- figures and reads

  /** The engine's figures; `excluding`: the asking command, left out of in-flight and lane figures. */
  stats(excluding?: string): EngineStats {
    const { parts, pending } = this.live;
    const self = excluding !== undefined && this.jobs.job(excluding) !== undefined ? 1 : 0;
    return {
      uptimeMs: this.now() - this.startedAt,
      sessions: this.sessions.size(),
      connections: this.publisher.count(),
      inFlight: this.jobs.size - self,
      pending: pending.size,
      ...laneTotals(this.laneSnapshots(excluding)),
      lastSeq: parts.committer.lastSeq(),
      commits: { ...parts.committer.stats },
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
    this.live.catchUp.hold(conn, filter);
  }

  /** Second step: replay the journal after `fromSeq`, then `attach` the live subscription. */
  startCatchUp(conn: Connection, filter: SubscriptionFilter, fromSeq: number, attach: () => void): void {
    this.live.catchUp.start(conn, filter, fromSeq, attach);
  }

  // ---------------------------------------------------------------- governance decisions

  /** approve / reject / cancel another command; answers once the decision is journaled. */
  decide(decider: Decider, decision: Decision): Promise<Outcome> {
    const { pending, takeover } = this.live;
    const owner = takeover?.route(decision.commandId) ?? null;
    return owner === null ? pending.decide(decider, decision) : takeover!.forward(owner, decider, decision);
  }

  /** The lane this node's server commands run in (`server`, or `server@<node>` on a shared journal). */
  serverLane(): string {
    return this.running?.parts.serverLane ?? SERVER_LANE;
  }

  /** Commands waiting for approval, their schedule or a dependency (list_pending). */
  pendingList(filter: PendingFilter): { items: PendingItem[]; total: number } {
    return pendingItems(this.jobs.jobs(), filter);
  }

  // ---------------------------------------------------------------- lifecycle of the server

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  beginShutdown(): void {
    this.shuttingDown = true;
    this.running?.takeover?.stop();
  }

  /** Tell every connection the server is going down, and how long it waits for commands in flight. */
  broadcastShutdown(reason: string, timeoutMs: number): void {
    this.publisher.broadcast({ type: "server_shutdown", data: { reason, timeoutMs } });
  }

  /** Resolves true when no command is in flight and the journal buffer is empty, false after `timeoutMs`. */
  drain(timeoutMs: number): Promise<boolean> {
    return this.live.drain.wait(timeoutMs);
  }

  /** Stop timers of whatever is still in flight (after a drain timeout); recovery handles it on restart. */
  abandon(): void {
    this.live.drain.abandon();
  }
}
