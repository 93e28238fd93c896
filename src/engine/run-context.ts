/**
 * The live `ctx` of a job (src/commands/context.ts builds it): sessions from the engine's working
 * table, and ctx.now() / ctx.random() recorded so the audit can re-execute with the same values.
 * Session events are collected and published only after the outcome is committed.
 */
import type { Logger } from "pino";
import { copyEvent, createContext, type ContextRun } from "../commands/handler-context.js";
import { SUBMISSION, type Submission } from "../commands/define.js";
import { signalOf, type Job } from "./job.js";
import type { SessionTable } from "./session-table.js";

export interface RunRecord extends ContextRun {
  events: Array<{ sessionId: string; event: unknown }>;
  /** the values ctx.now() / ctx.random() returned, journaled so re-execution sees the same ones */
  recorded(): { clock?: number[]; random?: number[] } | undefined;
}

export interface ContextDeps {
  sessions: SessionTable;
  log: Logger;
  maxSessions: number;
  now(): number;
}

const bySessionId = (a: { sessionId: string }, b: { sessionId: string }): number => (a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : 0);

export function buildContext(job: Job, deps: ContextDeps): RunRecord {
  const scope = job.def?.scope ?? "session";
  const entry = job.sessionId !== null && scope === "session" ? deps.sessions.get(job.sessionId) : undefined;
  const events: RunRecord["events"] = [];
  const clock: number[] = [];
  const randoms: number[] = [];
  let log: Logger | undefined;
  const run = createContext({
    commandId: job.id,
    type: job.type,
    scope,
    sessionId: job.sessionId,
    actor: job.actor,
    acceptedAt: job.acceptedAt,
    state: entry?.state,
    ...(entry ? { stateBytes: entry.bytes } : {}),
    sessionVersion: entry ? entry.version : null,
    sessions: {
      exists: (id) => deps.sessions.has(id),
      list: () => deps.sessions.list().sort(bySessionId).map((s) => ({ sessionId: s.sessionId, sessionVersion: s.version, createdAt: s.createdAt })),
      count: () => deps.sessions.size(),
      atLimit: (max) => deps.sessions.size() >= max,
    },
    maxSessions: deps.maxSessions,
    signal: () => signalOf(job),
    log: () => (log ??= deps.log.child({ commandId: job.id, type: job.type })),
    now() {
      const t = deps.now();
      clock.push(t);
      return t;
    },
    random() {
      const r = Math.random();
      randoms.push(r);
      return r;
    },
    emit: (sessionId, event) => events.push({ sessionId, event: copyEvent(event) }),
  });
  if (job.def?.operator) {
    const submission: Submission = { commandId: job.id, conn: job.conn, envelope: job.envelope, actor: job.actor, roles: job.roles };
    Object.defineProperty(run.ctx, SUBMISSION, { value: submission });
  }
  const recorded = (): { clock?: number[]; random?: number[] } | undefined => {
    if (clock.length === 0 && randoms.length === 0) return undefined;
    return { ...(clock.length ? { clock } : {}), ...(randoms.length ? { random: randoms } : {}) };
  };
  // added to the run itself (a class instance: a spread would drop its methods)
  return Object.assign(run, { events, recorded });
}
