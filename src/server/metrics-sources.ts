/** What the Prometheus gauges read from a running engine when scraped. */
import type { Engine } from "../engine/engine.js";
import type { MetricsSources } from "../observability/metrics.js";
import type { Readiness } from "./readiness.js";

/** `pending` comes from governance; journal health from the readiness rule. */
export function engineSources(engine: Engine, pending: () => number, readiness: () => Readiness): MetricsSources {
  return {
    lanes: () => engine.laneSnapshots(),
    inFlight: () => engine.stats().inFlight,
    sessions: () => engine.stats().sessions,
    lastSeq: () => engine.stats().lastSeq,
    journalHealthy: () => readiness().checks.journalHealthy,
    pending,
  };
}
