/**
 * #17.2: a command's facts update plain numbers only; prom-client sees them when `/metrics` is
 * scraped. The reference here is prom-client itself, fed per fact the way `Metrics` fed it before
 * (a Counter.inc / Histogram.observe per fact): for any sequence of facts, with scrapes anywhere in
 * it, the exposition text is the same byte for byte, a scrape changes nothing (a second scrape gives
 * the same text, `get_metrics` the same snapshot), and the `get_metrics` histograms match prom-client's.
 */
import fc from "fast-check";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { CommandStatus } from "../../src/lifecycle/status.js";
import { Metrics, type MetricsSources } from "../../src/observability/metrics.js";
import { METRIC_DEFS, LATENCY_BUCKETS, COMMIT_BUCKETS, BATCH_BUCKETS, registerGauges } from "../../src/observability/prom-metrics.js";

const seed = Number(process.env.FC_SEED ?? Date.now());
console.log(`fast-check seed ${seed} (replay: FC_SEED=${seed})`);

const SOURCES: MetricsSources = {
  lanes: () => [{ key: "session:a", depth: 3, running: true }, { key: "server", depth: 1, running: false }],
  inFlight: () => 4,
  sessions: () => 2,
  lastSeq: () => 17,
  journalHealthy: () => true,
  pending: () => 1,
};

/** `Metrics`' prom side as it was: prom-client metrics fed per fact. */
class Reference {
  readonly registry = new Registry();
  private readonly d = METRIC_DEFS;
  private readonly registers = [this.registry];
  readonly accepted = new Counter({ ...this.d.accepted, registers: this.registers });
  readonly finished = new Counter({ ...this.d.finished, registers: this.registers });
  readonly duration = new Histogram({ ...this.d.duration, registers: this.registers });
  readonly queueWait = new Histogram({ ...this.d.queueWait, registers: this.registers });
  readonly commitSeconds = new Histogram({ ...this.d.commitSeconds, registers: this.registers });
  readonly batchRows = new Histogram({ ...this.d.batchRows, registers: this.registers });
  readonly commitFailures = new Counter({ ...this.d.commitFailures, registers: this.registers });
  readonly duplicates = new Counter({ ...this.d.duplicates, registers: this.registers });
  readonly conflicts = new Counter({ ...this.d.conflicts, registers: this.registers });
  readonly connOpened = new Counter({ ...this.d.connOpened, registers: this.registers });
  readonly connections = new Gauge({ ...this.d.connections, registers: this.registers });
  // the get_metrics histograms (all types together), outside the registry
  readonly allDuration = new Histogram({ name: "all_duration", help: "-", buckets: LATENCY_BUCKETS, registers: [] });
  readonly allQueueWait = new Histogram({ name: "all_queue_wait", help: "-", buckets: LATENCY_BUCKETS, registers: [] });
  readonly allCommit = new Histogram({ name: "all_commit", help: "-", buckets: COMMIT_BUCKETS, registers: [] });
  readonly allRows = new Histogram({ name: "all_rows", help: "-", buckets: BATCH_BUCKETS, registers: [] });

  constructor(m: Metrics) {
    registerGauges(this.registry, {
      laneFigures: () => m.laneFigures(),
      inFlight: SOURCES.inFlight,
      pending: SOURCES.pending,
      sessions: SOURCES.sessions,
      lastSeq: SOURCES.lastSeq,
      journalHealthy: SOURCES.journalHealthy,
    });
  }
}

type Fact =
  | { k: "accepted"; type: string }
  | { k: "started"; type: string; waitMs: number }
  | { k: "finished"; type: string; status: CommandStatus; code: string | null; ms: number }
  | { k: "duplicate"; kind: "replay" | "attach" | "conflict"; type: string }
  | { k: "commit"; rows: number; ms: number; ok: boolean }
  | { k: "open" | "close"; transport: string }
  | { k: "scrape" };

function feed(m: Metrics, r: Reference, f: Fact): void {
  switch (f.k) {
    case "accepted":
      m.accepted(f.type);
      r.accepted.inc({ type: f.type });
      return;
    case "started": {
      m.started(f.type, "session:a", f.waitMs);
      const s = Math.max(0, f.waitMs) / 1000;
      r.queueWait.observe({ type: f.type }, s);
      r.allQueueWait.observe(s);
      return;
    }
    case "finished": {
      m.finished({ type: f.type, lane: "session:a", status: f.status, code: f.code, acceptedAt: 1000, startedAt: null, finishedAt: 1000 + f.ms });
      r.finished.inc({ type: f.type, outcome: f.status, code: f.code ?? "" });
      const s = Math.max(0, 1000 + f.ms - 1000) / 1000;
      r.duration.observe({ type: f.type }, s);
      r.allDuration.observe(s);
      return;
    }
    case "duplicate":
      m.duplicate(f.kind, f.type);
      if (f.kind === "conflict") r.conflicts.inc({ type: f.type });
      else r.duplicates.inc({ type: f.type, kind: f.kind });
      return;
    case "commit":
      m.commit(f.rows, f.ms, f.ok);
      if (!f.ok) return r.commitFailures.inc();
      r.commitSeconds.observe(f.ms / 1000);
      r.allCommit.observe(f.ms / 1000);
      r.batchRows.observe(f.rows);
      r.allRows.observe(f.rows);
      return;
    case "open":
      m.connectionOpened(f.transport);
      r.connOpened.inc({ transport: f.transport });
      r.connections.inc({ transport: f.transport });
      return;
    case "close":
      m.connectionClosed(f.transport);
      r.connections.dec({ transport: f.transport });
      return;
    case "scrape":
      return;
  }
}

/** prom-client's histogram as the `get_metrics` snapshot shape */
async function asSnapshot(h: Histogram): Promise<{ count: number; sum: number; buckets: Record<string, number> }> {
  const buckets: Record<string, number> = {};
  let count = 0;
  let sum = 0;
  for (const v of (await h.get()).values) {
    const name = (v as { metricName?: string }).metricName ?? "";
    if (name.endsWith("_bucket")) buckets[String(v.labels.le)] = v.value;
    else if (name.endsWith("_sum")) sum = v.value;
    else if (name.endsWith("_count")) count = v.value;
  }
  return { count, sum, buckets };
}

const types = fc.constantFrom("set", "get_state", "create_session", "fail", "x.y");
// seconds × 1000: bucket bounds exactly, values between and beyond them, negatives (clamped to 0)
const ms = fc.oneof(fc.constantFrom(...LATENCY_BUCKETS.map((b) => b * 1000), ...COMMIT_BUCKETS.map((b) => b * 1000), 0, 61_000), fc.double({ min: -5, max: 100_000, noNaN: true }));
const factArb: fc.Arbitrary<Fact> = fc.oneof(
  fc.record({ k: fc.constant("accepted" as const), type: types }),
  fc.record({ k: fc.constant("started" as const), type: types, waitMs: ms }),
  fc.record({
    k: fc.constant("finished" as const),
    type: types,
    status: fc.constantFrom<CommandStatus>("succeeded", "failed", "timed_out", "interrupted"),
    code: fc.constantFrom(null, "handler_error", "session_not_found", "limit_exceeded", "timeout"),
    ms,
  }),
  fc.record({ k: fc.constant("duplicate" as const), kind: fc.constantFrom("replay" as const, "attach" as const, "conflict" as const), type: types }),
  fc.record({ k: fc.constant("commit" as const), rows: fc.oneof(fc.constantFrom(...BATCH_BUCKETS), fc.integer({ min: 1, max: 6000 })), ms: fc.double({ min: 0, max: 2000, noNaN: true }), ok: fc.boolean() }),
  fc.record({ k: fc.constantFrom("open" as const, "close" as const), transport: fc.constantFrom("websocket", "stdio") }),
  fc.constant({ k: "scrape" as const }),
);

describe("/metrics folded at scrape time", () => {
  it("#17.2 the exposition is prom-client's own for the same facts, byte for byte, at every scrape; scraping changes nothing", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(factArb, { maxLength: 120 }), async (facts) => {
        const m = new Metrics({ defaultMetrics: false, now: () => 5 });
        m.bind(SOURCES);
        const r = new Reference(m);
        for (const f of [...facts, { k: "scrape" } as const]) {
          feed(m, r, f);
          if (f.k !== "scrape") continue;
          const before = m.snapshot();
          const text = (await m.exposition()).body;
          expect(text).toBe(await r.registry.metrics());
          expect((await m.exposition()).body).toBe(text);
          expect(m.snapshot()).toEqual(before);
        }
        const s = m.snapshot();
        expect(s.latency.admissionToFinish).toEqual(await asSnapshot(r.allDuration));
        expect(s.latency.queueWait).toEqual(await asSnapshot(r.allQueueWait));
        expect(s.journal.commitLatency).toEqual(await asSnapshot(r.allCommit));
        expect(s.journal.batchSize).toEqual(await asSnapshot(r.allRows));
      }),
      { seed, numRuns: 150 },
    );
  });

  it("#17.2 an exposition with every metric family present matches prom-client's (one fixed sequence)", async () => {
    const m = new Metrics({ defaultMetrics: false });
    m.bind(SOURCES);
    const r = new Reference(m);
    const facts: Fact[] = [
      { k: "open", transport: "websocket" },
      { k: "accepted", type: "set" },
      { k: "started", type: "set", waitMs: 0.5 },
      { k: "commit", rows: 3, ms: 0.12, ok: true },
      { k: "finished", type: "set", status: "succeeded", code: null, ms: 2.5 },
      { k: "accepted", type: "fail" },
      { k: "finished", type: "fail", status: "failed", code: "handler_error", ms: 70_000 },
      { k: "duplicate", kind: "replay", type: "set" },
      { k: "duplicate", kind: "attach", type: "set" },
      { k: "duplicate", kind: "conflict", type: "set" },
      { k: "commit", rows: 1, ms: 3, ok: false },
    ];
    for (const f of facts) feed(m, r, f);
    const text = (await m.exposition()).body;
    expect(text).toBe(await r.registry.metrics());
    for (const name of Object.values(METRIC_DEFS).map((d) => d.name)) expect(text).toContain(`\n${name}`);
    expect(text).toContain('causeway_command_duration_seconds_bucket{le="0.0025",type="set"} 1');
    expect(text).toContain('causeway_commands_total{type="fail",outcome="failed",code="handler_error"} 1');
  });
});
