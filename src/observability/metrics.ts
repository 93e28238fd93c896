/**
 * Metrics: one `Metrics` object is the engine's observer (observer.ts) and the source of
 * both the Prometheus `/metrics` endpoint (prom-client, text exposition format) and the
 * `get_metrics` / `health_check` commands. Both read the same figures: a command's facts update
 * plain numbers only (no prom-client call per command); immediate commands read them synchronously
 * and prom-metrics.ts folds them into prom-client when `/metrics` is scraped. Gauges (lane depth, in
 * flight, pending, sessions) are read from the engine when scraped.
 *
 * Label cardinality is bounded: `type` is a registered command type (unknown types are refused
 * before admission), `outcome` a terminal status, `code` an error code. Lanes are NOT a label
 * (one per session would be unbounded); per-lane figures are in `get_lanes`.
 *
 * prom-metrics.ts registers the prom-client side; plain-figures.ts holds the plain histograms and
 * labeled counts.
 */
import { collectDefaultMetrics, Registry } from "prom-client";
import type { MetricsSnapshot } from "../protocol/snapshots.js";
import type { EngineObserver, FinishedFact } from "./observer.js";
import { LabeledCounts, LabeledHistograms, PlainHistogram } from "./plain-figures.js";
import { BATCH_BUCKETS, COMMIT_BUCKETS, LATENCY_BUCKETS, registerCounters, registerGauges, type LaneFigures, type PromConnections } from "./prom-metrics.js";

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

  /** the connection figures, moved in prom-client directly (everything else is folded in when scraped) */
  private readonly prom: PromConnections;

  // plain side (get_metrics)
  private readonly acceptedCounts: Record<string, number> = {};
  private readonly finishedCounts: Record<string, Record<string, number>> = {};
  private readonly failedByCode: Record<string, number> = {};
  private readonly duration = new PlainHistogram(LATENCY_BUCKETS);
  private readonly queueWait = new PlainHistogram(LATENCY_BUCKETS);
  private readonly commitSeconds = new PlainHistogram(COMMIT_BUCKETS);
  private readonly batchRows = new PlainHistogram(BATCH_BUCKETS);
  // per label set, for /metrics only
  private readonly acceptedByType = new LabeledCounts<"type">();
  private readonly finishedByLabels = new LabeledCounts<"type" | "outcome" | "code">();
  private readonly durationByType = new LabeledHistograms<"type">(LATENCY_BUCKETS);
  private readonly queueWaitByType = new LabeledHistograms<"type">(LATENCY_BUCKETS);
  private readonly duplicatesByLabels = new LabeledCounts<"type" | "kind">();
  private readonly conflictsByLabels = new LabeledCounts<"type">();
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
    this.prom = registerCounters(this.registry, {
      accepted: this.acceptedByType,
      finished: this.finishedByLabels,
      duration: this.durationByType,
      queueWait: this.queueWaitByType,
      commitSeconds: this.commitSeconds,
      batchRows: this.batchRows,
      commitFailures: () => this.commitFailures,
      duplicates: this.duplicatesByLabels,
      conflicts: this.conflictsByLabels,
    });
    // gauges read when scraped
    registerGauges(this.registry, {
      laneFigures: () => this.laneFigures(),
      inFlight: () => this.sources?.inFlight() ?? 0,
      pending: () => this.sources?.pending() ?? 0,
      sessions: () => this.sources?.sessions() ?? 0,
      lastSeq: () => this.sources?.lastSeq() ?? 0,
      journalHealthy: () => this.sources === null || this.sources.journalHealthy(),
    });
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Connect the scrape-time gauges to their sources (the engine, the pending count). */
  bind(sources: MetricsSources): void {
    this.sources = sources;
  }

  // ------------------------------------------------------------ EngineObserver

  accepted(type: string): void {
    this.acceptedByType.inc(type, { type });
    inc(this.acceptedCounts, type);
  }

  started(type: string, _lane: string, queueWaitMs: number): void {
    const s = Math.max(0, queueWaitMs) / 1000;
    this.queueWaitByType.observe(type, { type }, s);
    this.queueWait.observe(s);
  }

  finished(fact: FinishedFact): void {
    const code = fact.code ?? "";
    this.finishedByLabels.inc(`${fact.type}\u0000${fact.status}\u0000${code}`, { type: fact.type, outcome: fact.status, code });
    const byOutcome = (this.finishedCounts[fact.type] ??= {});
    inc(byOutcome, fact.status);
    if (fact.code !== null) inc(this.failedByCode, fact.code);
    if (fact.code === "limit_exceeded" && fact.type === "create_session") this.rejected.sessionLimit++;
    const s = Math.max(0, fact.finishedAt - fact.acceptedAt) / 1000;
    this.durationByType.observe(fact.type, { type: fact.type }, s);
    this.duration.observe(s);
  }

  duplicate(kind: "replay" | "attach" | "conflict", type: string): void {
    if (kind === "conflict") {
      this.conflictsByLabels.inc(type, { type });
      inc(this.conflictsByType, type);
      this.conflictTotal++;
      return;
    }
    this.duplicatesByLabels.inc(`${type}\u0000${kind}`, { type, kind });
    this.replayCounts[kind]++;
    inc(this.replaysByType, type);
  }

  commit(rows: number, ms: number, ok: boolean): void {
    if (!ok) {
      this.commitFailures++;
      return;
    }
    const s = ms / 1000;
    this.commitSeconds.observe(s);
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
    this.prom.connOpened.inc({ transport });
    this.prom.connections.inc({ transport });
    inc(this.opened, transport);
    inc(this.open, transport);
  }

  connectionClosed(transport: string): void {
    this.prom.connections.dec({ transport });
    inc(this.open, transport, -1);
  }

  // ------------------------------------------------------------ reading

  /** Prometheus text exposition format. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** `askingLane`: the lane whose running head is the command asking (left out of the figures). */
  laneFigures(askingLane?: string): LaneFigures {
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
