/**
 * Operator commands: `get_metrics` (the figures `/metrics` exposes, as JSON, after
 * pi-server's get_metrics fields: pi-metrics.ts) and
 * `get_lanes` (every active lane: depth, head, running-since, age of the oldest queued command).
 * Immediate: they read in-memory figures only, so they answer while the journal is unavailable.
 */
import { failure, success } from "../protocol/frames.js";
import type { OperatorCommand } from "./operator-command.js";
import { piServerMetrics } from "./pi-metrics.js";

/** `get_lanes` page size when the request has no `limit` */
export const DEFAULT_LANES_LIMIT = 100;
/** largest `get_lanes` `limit` */
export const MAX_LANES_LIMIT = 1000;
/** `get_lanes` queued commands listed per lane when the request has no `queuedLimit` */
export const DEFAULT_QUEUED_LIMIT = 5;
/** largest `get_lanes` `queuedLimit` */
export const MAX_QUEUED_LIMIT = 100;

export const METRICS_COMMANDS: OperatorCommand[] = [
  {
    type: "get_metrics",
    sessionId: "none",
    params: { type: "object", properties: {} },
    handle({ env }, s) {
      if (!s.metrics) return failure(env.type, "invalid_command", "metrics are not enabled in this server");
      // the asking command runs at the head of the server lane; the figures describe the rest
      const snapshot = s.metrics.snapshot(s.engine.serverLane());
      return success(env.type, { ...piServerMetrics(s, snapshot), ...snapshot });
    },
  },
  {
    type: "get_lanes",
    sessionId: "none",
    params: {
      type: "object",
      properties: {
        limit: { type: "integer", minimum: 1, maximum: MAX_LANES_LIMIT },
        queuedLimit: { type: "integer", minimum: 0, maximum: MAX_QUEUED_LIMIT },
        laneKey: { type: "string", minLength: 1, maxLength: 1024 },
      },
    },
    handle({ env, commandId }, s) {
      const limit = (env.limit as number | undefined) ?? DEFAULT_LANES_LIMIT;
      const queuedLimit = (env.queuedLimit as number | undefined) ?? DEFAULT_QUEUED_LIMIT;
      const only = env.laneKey as string | undefined;
      const now = Date.now();
      // the asking command's own lane is left out when it holds nothing else
      const all = s.engine.inspectLanes(now, queuedLimit, commandId).filter((l) => only === undefined || l.laneKey === only);
      // deepest first, then the longest-waiting: what an operator looks for first
      all.sort((a, b) => b.depth - a.depth || (b.oldestQueuedAgeMs ?? -1) - (a.oldestQueuedAgeMs ?? -1) || (a.laneKey < b.laneKey ? -1 : 1));
      const lanes = all.slice(0, limit);
      return success(env.type, {
        lanes,
        count: lanes.length,
        total: all.length,
        truncated: all.length > lanes.length,
        inFlight: s.engine.stats(commandId).inFlight,
        pending: s.pending?.() ?? 0,
        at: now,
      });
    },
  },
];
