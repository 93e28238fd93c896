/** What the Prometheus gauges read from a running engine when scraped. */
import type { Engine } from "../engine/engine.js";
import type { MetricsSources } from "../observability/metrics.js";
import type { Readiness } from "./readiness.js";

/** `pending` comes from governance; journal health from the readiness rule. */
export function engineSources(engine: Engine, pending: () => number, readiness: () => Readiness): MetricsSources {
  return {
    lanes: () => engine.lanes.all().map((l) => ({ key: l.key, depth: l.length, running: l.active !== null && l.active.status === "running" })),
    inFlight: () => engine.jobs.size,
    sessions: () => engine.sessions.size(),
    lastSeq: () => engine.committer.lastSeq(),
    journalHealthy: () => readiness().checks.journalHealthy,
    pending,
  };
}
