/**
 * The Prometheus side of `Metrics` (metrics.ts): every counter, histogram and gauge, registered on
 * one registry in the order `/metrics` lists them. The per-command counters and histograms are NOT
 * fed per command: `Metrics` keeps them as plain numbers (plain-figures.ts) and they are folded in
 * when scraped — counters through prom-client's `collect()` callback, histograms as a registry
 * metric that reads the plain buckets (prom-client has no public way to set a histogram's buckets).
 * The exposition is the one prom-client gives for the same observations, byte for byte
 * (test/observability/metrics-fold.test.ts). Connection figures move prom-client directly (a
 * connection opening is rare); gauges read their figures when scraped.
 */
import { Counter, Gauge, type Metric, type Registry } from "prom-client";
import type { LabeledCounts, LabeledHistograms, PlainHistogram } from "./plain-figures.js";

/** seconds: 0.5 ms .. 60 s */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** seconds: 50 µs .. 1 s */
export const COMMIT_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
/** journal rows per group-commit transaction */
export const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

/** One counter or histogram of the exposition: its name, help, labels and (histograms) buckets. */
export interface MetricDef {
  name: string;
  help: string;
  labelNames: string[];
  buckets?: number[];
}

/** The counters, histograms and the connections gauge, in exposition order (a test builds prom-client's own from them). */
export const METRIC_DEFS = {
  accepted: { name: "causeway_commands_accepted_total", help: "Commands admitted (accepted row committed), by type", labelNames: ["type"] },
  finished: {
    name: "causeway_commands_total",
    help: "Commands finished (terminal outcome committed), by type, outcome (succeeded, failed, timed_out, interrupted) and error code (empty on success)",
    labelNames: ["type", "outcome", "code"],
  },
  duration: { name: "causeway_command_duration_seconds", help: "Admission (accepted) to finish, by type", labelNames: ["type"], buckets: LATENCY_BUCKETS },
  queueWait: { name: "causeway_command_queue_wait_seconds", help: "Admission to handler start (time queued in the lane), by type", labelNames: ["type"], buckets: LATENCY_BUCKETS },
  commitSeconds: { name: "causeway_journal_commit_seconds", help: "Duration of one group-commit transaction", labelNames: [], buckets: COMMIT_BUCKETS },
  batchRows: { name: "causeway_journal_commit_batch_rows", help: "Journal rows per group-commit transaction", labelNames: [], buckets: BATCH_BUCKETS },
  commitFailures: { name: "causeway_journal_commit_failures_total", help: "Failed journal transactions (fail closed, retried with backoff)", labelNames: [] },
  duplicates: { name: "causeway_replays_total", help: "Duplicate submissions answered from a stored outcome (kind=replay) or attached to the original in flight (kind=attach)", labelNames: ["type", "kind"] },
  conflicts: { name: "causeway_replay_conflicts_total", help: "Duplicate id or idempotency key with a different fingerprint (replay_conflict)", labelNames: ["type"] },
  connOpened: { name: "causeway_connections_opened_total", help: "Connections opened, by transport", labelNames: ["transport"] },
  connections: { name: "causeway_connections", help: "Open connections, by transport", labelNames: ["transport"] },
} satisfies Record<string, MetricDef>;

/** The per-command figures as `Metrics` keeps them; read only when scraped. */
export interface PlainFigures {
  accepted: LabeledCounts<"type">;
  finished: LabeledCounts<"type" | "outcome" | "code">;
  duration: LabeledHistograms<"type">;
  queueWait: LabeledHistograms<"type">;
  commitSeconds: PlainHistogram;
  batchRows: PlainHistogram;
  commitFailures(): number;
  duplicates: LabeledCounts<"type" | "kind">;
  conflicts: LabeledCounts<"type">;
}

/** What `Metrics` still moves directly: the connection figures. */
export interface PromConnections {
  connOpened: Counter<"transport">;
  connections: Gauge<"transport">;
}

type CountRow = { labels: Record<string, string>; value: number };
type HistogramRow = { labels: Record<string, string>; h: PlainHistogram };

/** A prom-client counter set, when scraped, to the plain totals (in the order each label set first counted). */
function foldedCounter(registry: Registry, def: MetricDef, read: () => Iterable<CountRow>): void {
  new Counter({
    name: def.name,
    help: def.help,
    labelNames: def.labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const { labels, value } of read()) if (value > 0) this.inc(labels, value);
    },
  });
}

/**
 * A histogram metric whose samples are read from plain histograms when scraped: the values
 * prom-client's own `Histogram.get()` lists (per label set: each `le` bucket, cumulative, then
 * `+Inf`, `_sum`, `_count`), formatted by the registry like any metric.
 */
function foldedHistogram(registry: Registry, def: MetricDef, read: () => Iterable<HistogramRow>): void {
  const { name, help } = def;
  const values = (): Array<{ labels: Record<string, string | number>; value: number; metricName: string }> => {
    const out: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    for (const { labels, h } of read()) {
      const cumulative = h.cumulative();
      h.bounds.forEach((le, i) => out.push({ labels: { le, ...labels }, value: cumulative[i]!, metricName: `${name}_bucket` }));
      out.push({ labels: { le: "+Inf", ...labels }, value: h.count, metricName: `${name}_bucket` });
      out.push({ labels: { ...labels }, value: h.sum, metricName: `${name}_sum` });
      out.push({ labels: { ...labels }, value: h.count, metricName: `${name}_count` });
    }
    return out;
  };
  const metric = {
    name,
    help,
    type: "histogram",
    aggregator: "sum",
    get: async () => ({ name, help, type: "histogram", values: values(), aggregator: "sum" }),
    /** a view: the figures belong to `Metrics` */
    reset: () => {},
  };
  // The registry reads any metric through `get()`; prom-client's types only name its own classes.
  registry.registerMetric(metric as unknown as Metric);
}

export function registerCounters(registry: Registry, f: PlainFigures): PromConnections {
  const d = METRIC_DEFS;
  const registers = [registry];
  foldedCounter(registry, d.accepted, () => f.accepted.entries());
  foldedCounter(registry, d.finished, () => f.finished.entries());
  foldedHistogram(registry, d.duration, () => f.duration.entries());
  foldedHistogram(registry, d.queueWait, () => f.queueWait.entries());
  foldedHistogram(registry, d.commitSeconds, () => [{ labels: {}, h: f.commitSeconds }]);
  foldedHistogram(registry, d.batchRows, () => [{ labels: {}, h: f.batchRows }]);
  foldedCounter(registry, d.commitFailures, () => [{ labels: {}, value: f.commitFailures() }]);
  foldedCounter(registry, d.duplicates, () => f.duplicates.entries());
  foldedCounter(registry, d.conflicts, () => f.conflicts.entries());
  return {
    connOpened: new Counter({ ...d.connOpened, labelNames: ["transport"], registers }),
    connections: new Gauge({ ...d.connections, labelNames: ["transport"], registers }),
  };
}

export interface LaneFigures {
  active: number;
  maxDepth: number;
  queued: number;
  running: number;
}

/** What the scrape-time gauges read; every figure is 0 (the journal healthy) until the sources are bound. */
export interface GaugeReads {
  laneFigures(): LaneFigures;
  inFlight(): number;
  pending(): number;
  sessions(): number;
  lastSeq(): number;
  journalHealthy(): boolean;
}

/** A gauge whose one value is read when scraped. */
function readGauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

export function registerGauges(registry: Registry, r: GaugeReads): void {
  readGauge(registry, "causeway_lanes_active", "Lanes holding at least one queued or running command", () => r.laneFigures().active);
  readGauge(registry, "causeway_lane_depth_max", "Depth (queued + running commands) of the deepest lane", () => r.laneFigures().maxDepth);
  new Gauge({
    name: "causeway_lane_depth",
    help: "Commands in lanes by state: queued (waiting for their turn or a dependency) or running",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      const f = r.laneFigures();
      this.set({ state: "queued" }, f.queued);
      this.set({ state: "running" }, f.running);
    },
  });
  readGauge(registry, "causeway_commands_in_flight", "Admitted commands whose outcome is not yet committed and published", () => r.inFlight());
  readGauge(registry, "causeway_commands_pending", "Commands awaiting approval (governance)", () => r.pending());
  readGauge(registry, "causeway_sessions", "Live sessions", () => r.sessions());
  readGauge(registry, "causeway_journal_last_seq", "Global sequence of the last committed journal row", () => r.lastSeq());
  readGauge(registry, "causeway_journal_healthy", "1 if the last journal commit succeeded, 0 while commits fail", () => (r.journalHealthy() ? 1 : 0));
}
