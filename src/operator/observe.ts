/** Observability and subscription immediate commands: health, recovery summary, subscriptions. */
import { failure, success } from "../protocol/frames.js";
import { PROTOCOL_VERSION } from "../protocol/types.js";
import { sessionNotFound } from "../protocol/messages.js";
import { LIFECYCLE_SCOPES, type LifecycleScope } from "../engine/publisher.js";
import type { OperatorCommand } from "./operator-command.js";
import { sessionInfo } from "../commands/session-info.js";

const MAX_SESSION_SUBSCRIPTIONS = 1024;

/**
 * Commands in lanes: `queued` (not running) and `running` (lane heads whose handler runs). The
 * asking command (`self`, running in the server lane) is left out: figures describe the rest.
 */
function laneCounts(engine: import("../engine/engine.js").Engine, self: string): { queued: number; running: number; lanes: number } {
  let queued = 0;
  let running = 0;
  let lanes = 0;
  for (const l of engine.lanes.all()) {
    const mine = l.active !== null && l.active.id === self ? 1 : 0;
    const r = l.active !== null && l.active.status === "running" ? 1 : 0;
    running += r - mine;
    queued += l.length - r;
    if (l.length - mine > 0) lanes++;
  }
  return { queued, running, lanes };
}

function filterOf(scope: string | undefined, sessionId: string | undefined): { all: boolean; sessionId?: string } {
  return scope === "all" ? { all: true } : { all: false, sessionId: sessionId! };
}

export const OBSERVE_COMMANDS: OperatorCommand[] = [
  {
    type: "health_check",
    sessionId: "none",
    params: { type: "object", properties: {} },
    handle({ env, commandId }, s) {
      const c = s.engine.committer.stats;
      const { lanes, ...counts } = laneCounts(s.engine, commandId);
      const { ready, issues, journalProblem } = s.readiness();
      return success(env.type, {
        healthy: ready,
        issues,
        // pi-server's circuit breakers guard LLM providers and bash; causeway has neither
        hasOpenCircuit: false,
        hasOpenBashCircuit: false,
        serverVersion: s.serverVersion,
        protocolVersion: PROTOCOL_VERSION,
        uptimeMs: Date.now() - s.engine.startedAt,
        sessions: s.engine.sessions.size(),
        lanes,
        inFlight: s.engine.jobs.size - 1,
        ...counts,
        pending: s.pending?.() ?? 0,
        connections: s.engine.publisher.count(),
        journal: {
          store: s.config.db === ":memory:" ? "memory" : "sqlite",
          durability: s.config.durability,
          healthy: journalProblem === null,
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
    handle({ env }, s) {
      return success(env.type, s.engine.recovery);
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
      const publisher = s.engine.publisher;
      if (scope === undefined && lifecycle !== undefined && env.fromSeq === undefined) {
        // only the lifecycle scope: which command facts this connection receives besides its subscriptions
        publisher.setLifecycle(conn, lifecycle);
        return success(env.type, { subscriptions: publisher.subscriptions(conn) });
      }
      if (scope !== "all" && !(scope === "session" && sessionId !== undefined)) {
        return failure(env.type, "invalid_command", 'subscribe needs {scope:"all"}, a sessionId, or a lifecycle scope');
      }
      if (lifecycle !== undefined) publisher.setLifecycle(conn, lifecycle);
      if (scope === "session" && !publisher.canSubscribeSession(conn, sessionId!, MAX_SESSION_SUBSCRIPTIONS)) {
        return failure(env.type, "limit_exceeded", `a connection may subscribe to at most ${MAX_SESSION_SUBSCRIPTIONS} sessions`);
      }
      const attach = (): void => {
        if (scope === "all") publisher.subscribeAll(conn);
        else publisher.subscribeSession(conn, sessionId!, MAX_SESSION_SUBSCRIPTIONS);
      };
      const fromSeq = env.fromSeq as number | undefined;
      if (fromSeq === undefined) {
        attach();
        return success(env.type, { subscriptions: publisher.subscriptions(conn) });
      }
      const first = s.store.firstRetainedSeq();
      if (fromSeq < first - 1) {
        return failure(env.type, "history_compacted", `events up to seq ${first - 1} were removed by retention; resume from seq ${first - 1} or later (get_command_history still answers for retained commands)`);
      }
      // hold live events back now; the journal replay after fromSeq starts once the response is
      // out (afterResponse), then the subscription goes live (see src/engine/catchup.ts)
      s.engine.catchUp.hold(conn, filterOf(scope, sessionId));
      return success(env.type, { fromSeq, lastSeq: s.engine.committer.lastSeq(), replaying: true });
    },
    afterResponse({ conn, env }, s) {
      const fromSeq = env.fromSeq as number | undefined;
      if (!conn || conn.closed || fromSeq === undefined) return;
      const scope = (env.scope as string | undefined) ?? (env.sessionId !== undefined ? "session" : undefined);
      const sessionId = env.sessionId;
      const publisher = s.engine.publisher;
      const attach = (): void => {
        if (scope === "all") publisher.subscribeAll(conn);
        else publisher.subscribeSession(conn, sessionId!, MAX_SESSION_SUBSCRIPTIONS);
      };
      s.engine.catchUp.start(conn, filterOf(scope, sessionId), fromSeq, attach);
    },
  },
  {
    type: "unsubscribe",
    sessionId: "optional",
    params: { type: "object", properties: {} },
    handle({ conn, env }, s) {
      if (!conn) return success(env.type, { subscriptions: { all: false, sessions: [], lifecycle: "all" } });
      s.engine.publisher.unsubscribe(conn, env.sessionId);
      return success(env.type, { subscriptions: s.engine.publisher.subscriptions(conn) });
    },
  },
  {
    type: "switch_session",
    sessionId: "required",
    params: { type: "object", properties: {} },
    handle({ conn, env }, s) {
      const sid = env.sessionId as string;
      // it runs in the session's lane, after the engine checked that the session exists
      const session = s.engine.sessions.get(sid);
      if (!session) return failure(env.type, "session_not_found", sessionNotFound(sid));
      if (conn && !s.engine.publisher.subscribeSession(conn, sid, MAX_SESSION_SUBSCRIPTIONS)) {
        return failure(env.type, "limit_exceeded", `a connection may subscribe to at most ${MAX_SESSION_SUBSCRIPTIONS} sessions`);
      }
      return success(env.type, { sessionInfo: sessionInfo({ sessionId: sid, sessionVersion: session.version, createdAt: session.createdAt }) }, session.version);
    },
  },
];
