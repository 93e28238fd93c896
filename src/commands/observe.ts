/**
 * Immediate commands: answered at once, outside lanes and the journal, with no lifecycle events.
 * They only read committed or connection-local facts, so they keep working while the journal is
 * unavailable (that is what operators need then).
 */
import type { CausewayConfig } from "../config/defaults.js";
import type { Engine } from "../engine/engine.js";
import { failure, success } from "../protocol/frames.js";
import { PROTOCOL_VERSION, type CommandEnvelope, type Outcome } from "../protocol/types.js";
import type { Connection } from "../transport/connection.js";
import type { CommandRegistry, ImmediateSpec } from "./registry.js";

export interface ObserveServices {
  engine: Engine;
  config: CausewayConfig;
  serverVersion: string;
  transports: string[];
}

type Handler = (conn: Connection, env: CommandEnvelope, s: ObserveServices) => Outcome;

const MAX_SESSION_SUBSCRIPTIONS = 1024;

const specs: Array<ImmediateSpec & { handle: Handler }> = [
  {
    type: "health_check",
    sessionId: "none",
    params: { type: "object", properties: {} },
    handle(_conn, env, s) {
      const c = s.engine.committer.stats;
      const issues: string[] = [];
      if (c.degraded) issues.push(`journal: last commit failed (${c.lastError})`);
      if (s.engine.isShuttingDown()) issues.push("server is shutting down");
      return success(env.type, {
        healthy: issues.length === 0,
        issues,
        serverVersion: s.serverVersion,
        protocolVersion: PROTOCOL_VERSION,
        uptimeMs: Date.now() - s.engine.startedAt,
        sessions: s.engine.sessions.size(),
        lanes: s.engine.lanes.all().length,
        inFlight: s.engine.jobs.size,
        connections: s.engine.publisher.count(),
        journal: {
          store: s.config.db === ":memory:" ? "memory" : "sqlite",
          durability: s.config.durability,
          healthy: !c.degraded,
          lastSeq: s.engine.committer.lastSeq(),
          batches: c.batches,
          records: c.records,
          failures: c.failures,
          lastError: c.lastError,
        },
      });
    },
  },
  {
    type: "get_startup_recovery",
    sessionId: "none",
    params: { type: "object", properties: {} },
    handle(_conn, env, s) {
      return success(env.type, s.engine.recovery);
    },
  },
  {
    type: "subscribe",
    sessionId: "optional",
    params: { type: "object", properties: { scope: { enum: ["all", "session"] } } },
    handle(conn, env, s) {
      const scope = (env.scope as string | undefined) ?? (env.sessionId !== undefined ? "session" : undefined);
      if (scope === "all") {
        s.engine.publisher.subscribeAll(conn);
      } else if (scope === "session" && env.sessionId !== undefined) {
        if (!s.engine.publisher.subscribeSession(conn, env.sessionId, MAX_SESSION_SUBSCRIPTIONS)) {
          return failure(env.type, "limit_exceeded", `a connection may subscribe to at most ${MAX_SESSION_SUBSCRIPTIONS} sessions`);
        }
      } else {
        return failure(env.type, "invalid_command", 'subscribe needs {scope:"all"} or a sessionId');
      }
      return success(env.type, { subscriptions: s.engine.publisher.subscriptions(conn) });
    },
  },
  {
    type: "unsubscribe",
    sessionId: "optional",
    params: { type: "object", properties: {} },
    handle(conn, env, s) {
      s.engine.publisher.unsubscribe(conn, env.sessionId);
      return success(env.type, { subscriptions: s.engine.publisher.subscriptions(conn) });
    },
  },
  {
    type: "switch_session",
    sessionId: "required",
    params: { type: "object", properties: {} },
    handle(conn, env, s) {
      const sid = env.sessionId as string;
      const session = s.engine.sessions.get(sid);
      if (!session) return failure(env.type, "session_not_found", `session ${sid} does not exist`);
      if (!s.engine.publisher.subscribeSession(conn, sid, MAX_SESSION_SUBSCRIPTIONS)) {
        return failure(env.type, "limit_exceeded", `a connection may subscribe to at most ${MAX_SESSION_SUBSCRIPTIONS} sessions`);
      }
      return success(env.type, { sessionInfo: { sessionId: sid, sessionVersion: session.version, createdAt: session.createdAt } }, session.version);
    },
  },
];

const handlers = new Map<string, Handler>(specs.map((s) => [s.type, s.handle]));

export function registerObserveCommands(registry: CommandRegistry): void {
  for (const { handle: _h, ...spec } of specs) registry.registerImmediate(spec);
}

export function runObserveCommand(conn: Connection, env: CommandEnvelope, s: ObserveServices): Outcome {
  const h = handlers.get(env.type);
  if (!h) return failure(env.type, "unknown_command", `unknown command type "${env.type}"`);
  return h(conn, env, s);
}
