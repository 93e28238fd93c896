/** Observability and subscription immediate commands: health, recovery summary, subscriptions. */
import { failure, success } from "../protocol/frames.js";
import { PROTOCOL_VERSION } from "../protocol/types.js";
import { sessionNotFound } from "../protocol/messages.js";
import { LIFECYCLE_SCOPES, type LifecycleScope } from "../engine/publisher.js";
import type { OperatorCommand } from "./operator-command.js";
import { sessionInfo } from "../commands/session-info.js";

const MAX_SESSION_SUBSCRIPTIONS = 1024;

function filterOf(scope: string | undefined, sessionId: string | undefined): { all: boolean; sessionId?: string } {
  return scope === "all" ? { all: true } : { all: false, sessionId: sessionId! };
}

export const OBSERVE_COMMANDS: OperatorCommand[] = [
  {
    type: "health_check",
    sessionId: "none",
    params: { type: "object", properties: {} },
    handle({ env, commandId }, s) {
      // the asking command (running in the server lane) is left out: figures describe the rest
      const st = s.engine.stats(commandId);
      const c = st.commits;
      const { ready, issues, journalProblem, warnings } = s.readiness();
      const kind = s.store.stats().kind;
      return success(env.type, {
        healthy: ready,
        issues,
        // pi-server's circuit breakers guard LLM providers and bash; causeway has neither
        hasOpenCircuit: false,
        hasOpenBashCircuit: false,
        serverVersion: s.serverVersion,
        protocolVersion: PROTOCOL_VERSION,
        uptimeMs: st.uptimeMs,
        sessions: st.sessions,
        lanes: st.lanes,
        inFlight: st.inFlight,
        queued: st.queued,
        running: st.running,
        pending: s.pending?.() ?? 0,
        connections: st.connections,
        warnings,
        journal: {
          store: kind,
          durability: kind === "redis" ? s.config.redisDurability : s.config.durability,
          healthy: journalProblem === null,
          lastSeq: st.lastSeq,
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
    handle({ env }, s) {
      return success(env.type, s.engine.recovery());
    },
  },
  {
    type: "subscribe",
    sessionId: "optional",
    params: {
      type: "object",
      properties: { scope: { enum: ["all", "session"] }, fromSeq: { type: "integer", minimum: 0 }, lifecycle: { enum: [...LIFECYCLE_SCOPES] } },
    },
    handle({ conn, env }, s) {
      if (!conn) return success(env.type, { subscriptions: { all: false, sessions: [], lifecycle: "all" } });
      const scope = (env.scope as string | undefined) ?? (env.sessionId !== undefined ? "session" : undefined);
      const sessionId = env.sessionId;
      const lifecycle = env.lifecycle as LifecycleScope | undefined;
      const engine = s.engine;
      if (scope === undefined && lifecycle !== undefined && env.fromSeq === undefined) {
        // only the lifecycle scope: which command facts this connection receives besides its subscriptions
        engine.setLifecycleScope(conn, lifecycle);
        return success(env.type, { subscriptions: engine.subscriptions(conn) });
      }
      if (scope !== "all" && !(scope === "session" && sessionId !== undefined)) {
        return failure(env.type, "invalid_command", 'subscribe needs {scope:"all"}, a sessionId, or a lifecycle scope');
      }
      if (lifecycle !== undefined) engine.setLifecycleScope(conn, lifecycle);
      const filter = filterOf(scope, sessionId);
      if (!engine.maySubscribe(conn, filter, MAX_SESSION_SUBSCRIPTIONS)) {
        return failure(env.type, "limit_exceeded", `a connection may subscribe to at most ${MAX_SESSION_SUBSCRIPTIONS} sessions`);
      }
      const fromSeq = env.fromSeq as number | undefined;
      if (fromSeq === undefined) {
        engine.subscribe(conn, filter, MAX_SESSION_SUBSCRIPTIONS);
        return success(env.type, { subscriptions: engine.subscriptions(conn) });
      }
      const first = s.store.firstRetainedSeq();
      if (fromSeq < first - 1) {
        return failure(env.type, "history_compacted", `events up to seq ${first - 1} were removed by retention; resume from seq ${first - 1} or later (get_command_history still answers for retained commands)`);
      }
      // hold live events back now; the journal replay after fromSeq starts once the response is
      // out (afterResponse), then the subscription goes live (see src/engine/catchup.ts)
      engine.holdCatchUp(conn, filter);
      return success(env.type, { fromSeq, lastSeq: engine.stats().lastSeq, replaying: true });
    },
    afterResponse({ conn, env }, s) {
      const fromSeq = env.fromSeq as number | undefined;
      if (!conn || conn.closed || fromSeq === undefined) return;
      const scope = (env.scope as string | undefined) ?? (env.sessionId !== undefined ? "session" : undefined);
      const filter = filterOf(scope, env.sessionId);
      s.engine.startCatchUp(conn, filter, fromSeq, () => void s.engine.subscribe(conn, filter, MAX_SESSION_SUBSCRIPTIONS));
    },
  },
  {
    type: "unsubscribe",
    sessionId: "optional",
    params: { type: "object", properties: {} },
    handle({ conn, env }, s) {
      if (!conn) return success(env.type, { subscriptions: { all: false, sessions: [], lifecycle: "all" } });
      s.engine.unsubscribe(conn, env.sessionId);
      return success(env.type, { subscriptions: s.engine.subscriptions(conn) });
    },
  },
  {
    type: "switch_session",
    sessionId: "required",
    params: { type: "object", properties: {} },
    handle({ conn, env }, s) {
      const sid = env.sessionId as string;
      // it runs in the session's lane, after the engine checked that the session exists
      const session = s.engine.session(sid);
      if (!session) return failure(env.type, "session_not_found", sessionNotFound(sid));
      if (conn && !s.engine.subscribe(conn, { all: false, sessionId: sid }, MAX_SESSION_SUBSCRIPTIONS)) {
        return failure(env.type, "limit_exceeded", `a connection may subscribe to at most ${MAX_SESSION_SUBSCRIPTIONS} sessions`);
      }
      return success(env.type, { sessionInfo: sessionInfo({ sessionId: sid, sessionVersion: session.version, createdAt: session.createdAt }) }, session.version);
    },
  },
];
