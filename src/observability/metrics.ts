/**
 * Metrics: one `Metrics` object is the engine's observer (src/engine/observer.ts) and the source of
 * both the Prometheus `/metrics` endpoint (prom-client, text exposition format) and the
 * `get_metrics` / `health_check` commands. Both read the same figures: counters and histograms are
 * fed once, into prom-client and into a plain snapshot that immediate commands read synchronously;
 * gauges (lane depth, in flight, pending, sessions, connections) are read from the engine when
 * scraped.
 *
 * Label cardinality is bounded: `type` is a registered command type (unknown types are refused
 * before admission), `outcome` a terminal status, `code` an error code. Lanes are NOT a label
 * (one per session would be unbounded); per-lane figures are in `get_lanes`.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { HistogramSnapshot, MetricsSnapshot } from "../protocol/snapshots.js";
import type { EngineObserver, FinishedFact } from "./observer.js";

/** seconds: 0.5 ms .. 60 s */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** seconds: 50 µs .. 1 s */
export const COMMIT_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
/** journal rows per group-commit transaction */
export const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

/** What the gauges read when scraped. Bound once the engine exists (it needs the observer first). */
export interface MetricsSources {
  /** per active lane: its key, queued + running commands, and whether its head runs */
  lanes(): Array<{ key: string; depth: number; running: boolean }>;
  inFlight(): number;
  sessions(): number;
  lastSeq(): number;
  journalHealthy(): boolean;
  /** commands awaiting approval (governance); 0 until wired */
  pending(): number;
}

class PlainHistogram {
  private readonly counts: number[];
  count = 0;
  sum = 0;
  constructor(private readonly bounds: number[]) {
    this.counts = bounds.map(() => 0);
  }
  observe(v: number): void {
    this.count++;
    this.sum += v;
    for (let i = 0; i < this.bounds.length; i++) if (v <= this.bounds[i]!) this.counts[i]!++;
  }
  snapshot(): HistogramSnapshot {
    const buckets: Record<string, number> = {};
    this.bounds.forEach((b, i) => (buckets[String(b)] = this.counts[i]!));
    buckets["+Inf"] = this.count;
    return { count: this.count, sum: this.sum, buckets };
  }
}

const inc = (m: Record<string, number>, k: string, by = 1): void => {
  m[k] = (m[k] ?? 0) + by;
};

export interface MetricsOptions {
  /** process / Node.js default metrics (CPU, memory, event-loop lag, GC); default true */
  defaultMetrics?: boolean;
  now?: () => number;
}

export class Metrics implements EngineObserver {
  readonly registry = new Registry();
  private sources: MetricsSources | null = null;
  private readonly now: () => number;
  private readonly startedAt: number;

  // prom-client side
  private readonly pAccepted: Counter<"type">;
  private readonly pFinished: Counter<"type" | "outcome" | "code">;
  private readonly pDuration: Histogram<"type">;
  private readonly pQueueWait: Histogram<"type">;
  private readonly pCommitSeconds: Histogram;
  private readonly pBatchRows: Histogram;
  private readonly pCommitFailures: Counter;
  private readonly pDuplicates: Counter<"type" | "kind">;
  private readonly pConflicts: Counter<"type">;
  private readonly pConnOpened: Counter<"transport">;
  private readonly pConnections: Gauge<"transport">;

  // plain side (get_metrics)
  private readonly acceptedCounts: Record<string, number> = {};
  private readonly finishedCounts: Record<string, Record<string, number>> = {};
  private readonly failedByCode: Record<string, number> = {};
  private readonly duration = new PlainHistogram(LATENCY_BUCKETS);
  private readonly queueWait = new PlainHistogram(LATENCY_BUCKETS);
  private readonly commitSeconds = new PlainHistogram(COMMIT_BUCKETS);
  private readonly batchRows = new PlainHistogram(BATCH_BUCKETS);
  private commitFailures = 0;
  private readonly replayCounts = { replay: 0, attach: 0 };
  private readonly replaysByType: Record<string, number> = {};
  private readonly conflictsByType: Record<string, number> = {};
  private conflictTotal = 0;
  private readonly open: Record<string, number> = {};
  private readonly opened: Record<string, number> = {};
  /** pi-server's commandsRejected figures that causeway has (get_metrics) */
  private readonly rejected = { sessionLimit: 0, messageSize: 0 };

  constructor(opts: MetricsOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
    const registers = [this.registry];
    this.pAccepted = new Counter({ name: "causeway_commands_accepted_total", help: "Commands admitted (accepted row committed), by type", labelNames: ["type"], registers });
    this.pFinished = new Counter({
      name: "causeway_commands_total",
      help: "Commands finished (terminal outcome committed), by type, outcome (succeeded, failed, timed_out, interrupted) and error code (empty on success)",
      labelNames: ["type", "outcome", "code"],
      registers,
    });
    this.pDuration = new Histogram({ name: "causeway_command_duration_seconds", help: "Admission (accepted) to finish, by type", labelNames: ["type"], buckets: LATENCY_BUCKETS, registers });
    this.pQueueWait = new Histogram({ name: "causeway_command_queue_wait_seconds", help: "Admission to handler start (time queued in the lane), by type", labelNames: ["type"], buckets: LATENCY_BUCKETS, registers });
    this.pCommitSeconds = new Histogram({ name: "causeway_journal_commit_seconds", help: "Duration of one group-commit transaction", buckets: COMMIT_BUCKETS, registers });
    this.pBatchRows = new Histogram({ name: "causeway_journal_commit_batch_rows", help: "Journal rows per group-commit transaction", buckets: BATCH_BUCKETS, registers });
    this.pCommitFailures = new Counter({ name: "causeway_journal_commit_failures_total", help: "Failed journal transactions (fail closed, retried with backoff)", registers });
    this.pDuplicates = new Counter({ name: "causeway_replays_total", help: "Duplicate submissions answered from a stored outcome (kind=replay) or attached to the original in flight (kind=attach)", labelNames: ["type", "kind"], registers });
    this.pConflicts = new Counter({ name: "causeway_replay_conflicts_total", help: "Duplicate id or idempotency key with a different fingerprint (replay_conflict)", labelNames: ["type"], registers });
    this.pConnOpened = new Counter({ name: "causeway_connections_opened_total", help: "Connections opened, by transport", labelNames: ["transport"], registers });
    this.pConnections = new Gauge({ name: "causeway_connections", help: "Open connections, by transport", labelNames: ["transport"], registers });

    // gauges read when scraped
    const self = this;
    new Gauge({
      name: "causeway_lanes_active",
      help: "Lanes holding at least one queued or running command",
      registers,
      collect() {
        this.set(self.laneFigures().active);
      },
    });
    new Gauge({
      name: "causeway_lane_depth_max",
      help: "Depth (queued + running commands) of the deepest lane",
      registers,
      collect() {
        this.set(self.laneFigures().maxDepth);
      },
    });
    new Gauge({
      name: "causeway_lane_depth",
      help: "Commands in lanes by state: queued (waiting for their turn or a dependency) or running",
      labelNames: ["state"],
      registers,
      collect() {
        const f = self.laneFigures();
        this.set({ state: "queued" }, f.queued);
        this.set({ state: "running" }, f.running);
      },
    });
    new Gauge({
      name: "causeway_commands_in_flight",
      help: "Admitted commands whose outcome is not yet committed and published",
      registers,
      collect() {
        this.set(self.sources?.inFlight() ?? 0);
      },
    });
    new Gauge({
      name: "causeway_commands_pending",
      help: "Commands awaiting approval (governance)",
      registers,
      collect() {
        this.set(self.sources?.pending() ?? 0);
      },
    });
    new Gauge({
      name: "causeway_sessions",
      help: "Live sessions",
      registers,
      collect() {
        this.set(self.sources?.sessions() ?? 0);
      },
    });
    new Gauge({
      name: "causeway_journal_last_seq",
      help: "Global sequence of the last committed journal row",
      registers,
      collect() {
        this.set(self.sources?.lastSeq() ?? 0);
      },
    });
    new Gauge({
      name: "causeway_journal_healthy",
      help: "1 if the last journal commit succeeded, 0 while commits fail",
      registers,
      collect() {
        this.set(self.sources === null || self.sources.journalHealthy() ? 1 : 0);
      },
    });
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Connect the scrape-time gauges to their sources (the engine, the pending count). */
  bind(sources: MetricsSources): void {
    this.sources = sources;
  }

  // ------------------------------------------------------------ EngineObserver

  accepted(type: string): void {
    this.pAccepted.inc({ type });
    inc(this.acceptedCounts, type);
  }

  started(type: string, _lane: string, queueWaitMs: number): void {
    const s = Math.max(0, queueWaitMs) / 1000;
    this.pQueueWait.observe({ type }, s);
    this.queueWait.observe(s);
  }

  finished(fact: FinishedFact): void {
    const code = fact.code ?? "";
    this.pFinished.inc({ type: fact.type, outcome: fact.status, code });
    const byOutcome = (this.finishedCounts[fact.type] ??= {});
    inc(byOutcome, fact.status);
    if (fact.code !== null) inc(this.failedByCode, fact.code);
    if (fact.code === "limit_exceeded" && fact.type === "create_session") this.rejected.sessionLimit++;
    const s = Math.max(0, fact.finishedAt - fact.acceptedAt) / 1000;
    this.pDuration.observe({ type: fact.type }, s);
    this.duration.observe(s);
  }

  duplicate(kind: "replay" | "attach" | "conflict", type: string): void {
    if (kind === "conflict") {
      this.pConflicts.inc({ type });
      inc(this.conflictsByType, type);
      this.conflictTotal++;
      return;
    }
    this.pDuplicates.inc({ type, kind });
    this.replayCounts[kind]++;
    inc(this.replaysByType, type);
  }

  commit(rows: number, ms: number, ok: boolean): void {
    if (!ok) {
      this.pCommitFailures.inc();
      this.commitFailures++;
      return;
    }
    const s = ms / 1000;
    this.pCommitSeconds.observe(s);
    this.commitSeconds.observe(s);
    this.pBatchRows.observe(rows);
    this.batchRows.observe(rows);
  }

  /** A frame refused before admission (not a command: not counted above). */
  frameRefused(code: string): void {
    if (code === "payload_too_large") this.rejected.messageSize++;
  }

  /** create_session refused at maxSessions, frames refused as too large (pi-server's commandsRejected). */
  rejections(): { sessionLimit: number; messageSize: number } {
    return { ...this.rejected };
  }

  // ------------------------------------------------------------ connections

  connectionOpened(transport: string): void {
    this.pConnOpened.inc({ transport });
    this.pConnections.inc({ transport });
    inc(this.opened, transport);
    inc(this.open, transport);
  }

  connectionClosed(transport: string): void {
    this.pConnections.dec({ transport });
    inc(this.open, transport, -1);
  }

  // ------------------------------------------------------------ reading

  /** Prometheus text exposition format. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** `askingLane`: the lane whose running head is the command asking (left out of the figures). */
  laneFigures(askingLane?: string): { active: number; maxDepth: number; queued: number; running: number } {
    let maxDepth = 0;
    let queued = 0;
    let running = 0;
    let active = 0;
    const lanes = this.sources?.lanes() ?? [];
    for (const l of lanes) {
      const self = l.key === askingLane && l.running ? 1 : 0;
      const depth = l.depth - self;
      if (depth === 0) continue;
      active++;
      maxDepth = Math.max(maxDepth, depth);
      const r = (l.running ? 1 : 0) - self;
      running += r;
      queued += depth - r;
    }
    return { active, maxDepth, queued, running };
  }

  /**
   * The same figures as `/metrics`, as JSON (`get_metrics`). `askingLane`: the lane of the
   * running command that asks; it is left out of the in-flight and lane figures.
   */
  snapshot(askingLane?: string): MetricsSnapshot {
    const lanes = this.laneFigures(askingLane);
    const src = this.sources;
    const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
    return {
      uptimeMs: this.now() - this.startedAt,
      commands: {
        accepted: { ...this.acceptedCounts },
        finished: clone(this.finishedCounts),
        failedByCode: { ...this.failedByCode },
        inFlight: Math.max(0, (src?.inFlight() ?? 0) - (askingLane !== undefined ? 1 : 0)),
        queued: lanes.queued,
        running: lanes.running,
        pending: src?.pending() ?? 0,
      },
      latency: { admissionToFinish: this.duration.snapshot(), queueWait: this.queueWait.snapshot() },
      lanes,
      journal: {
        commits: this.commitSeconds.count,
        commitFailures: this.commitFailures,
        rows: this.batchRows.sum,
        lastSeq: src?.lastSeq() ?? 0,
        healthy: src?.journalHealthy() ?? true,
        commitLatency: this.commitSeconds.snapshot(),
        batchSize: this.batchRows.snapshot(),
      },
      connections: { open: { ...this.open }, opened: { ...this.opened } },
      replays: { ...this.replayCounts, byType: { ...this.replaysByType } },
      conflicts: { total: this.conflictTotal, byType: { ...this.conflictsByType } },
      sessions: src?.sessions() ?? 0,
    };
  }
}

/** Re-export for observers composed with others. */
export type { EngineObserver };
