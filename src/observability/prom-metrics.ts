/**
 * The Prometheus side of `Metrics` (metrics.ts): every prom-client counter, histogram and gauge,
 * registered on one registry in the order `/metrics` lists them. Counters and histograms are fed
 * by `Metrics`; gauges read their figures when scraped.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** seconds: 0.5 ms .. 60 s */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** seconds: 50 µs .. 1 s */
export const COMMIT_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
/** journal rows per group-commit transaction */
export const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

/** The counters and histograms `Metrics` feeds, and the connections gauge it moves. */
export interface PromCounters {
  accepted: Counter<"type">;
  finished: Counter<"type" | "outcome" | "code">;
  duration: Histogram<"type">;
  queueWait: Histogram<"type">;
  commitSeconds: Histogram;
  batchRows: Histogram;
  commitFailures: Counter;
  duplicates: Counter<"type" | "kind">;
  conflicts: Counter<"type">;
  connOpened: Counter<"transport">;
  connections: Gauge<"transport">;
}

export function registerCounters(registry: Registry): PromCounters {
  const registers = [registry];
  return {
    accepted: new Counter({ name: "causeway_commands_accepted_total", help: "Commands admitted (accepted row committed), by type", labelNames: ["type"], registers }),
    finished: new Counter({
      name: "causeway_commands_total",
      help: "Commands finished (terminal outcome committed), by type, outcome (succeeded, failed, timed_out, interrupted) and error code (empty on success)",
      labelNames: ["type", "outcome", "code"],
      registers,
    }),
    duration: new Histogram({ name: "causeway_command_duration_seconds", help: "Admission (accepted) to finish, by type", labelNames: ["type"], buckets: LATENCY_BUCKETS, registers }),
    queueWait: new Histogram({ name: "causeway_command_queue_wait_seconds", help: "Admission to handler start (time queued in the lane), by type", labelNames: ["type"], buckets: LATENCY_BUCKETS, registers }),
    commitSeconds: new Histogram({ name: "causeway_journal_commit_seconds", help: "Duration of one group-commit transaction", buckets: COMMIT_BUCKETS, registers }),
    batchRows: new Histogram({ name: "causeway_journal_commit_batch_rows", help: "Journal rows per group-commit transaction", buckets: BATCH_BUCKETS, registers }),
    commitFailures: new Counter({ name: "causeway_journal_commit_failures_total", help: "Failed journal transactions (fail closed, retried with backoff)", registers }),
    duplicates: new Counter({ name: "causeway_replays_total", help: "Duplicate submissions answered from a stored outcome (kind=replay) or attached to the original in flight (kind=attach)", labelNames: ["type", "kind"], registers }),
    conflicts: new Counter({ name: "causeway_replay_conflicts_total", help: "Duplicate id or idempotency key with a different fingerprint (replay_conflict)", labelNames: ["type"], registers }),
    connOpened: new Counter({ name: "causeway_connections_opened_total", help: "Connections opened, by transport", labelNames: ["transport"], registers }),
    connections: new Gauge({ name: "causeway_connections", help: "Open connections, by transport", labelNames: ["transport"], registers }),
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
