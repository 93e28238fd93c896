/**
 * Builds the `ctx` a handler runs with, and collects what the handler did: a new state draft,
 * staged session operations (server scope), and session events to publish after commit.
 */
import type { Logger } from "pino";
import type { CommandContext, SessionsApi } from "../commands/define.js";
import { CausewayError } from "../protocol/errors.js";
import type { SessionEffect } from "../journal/types.js";
import type { Job } from "./job.js";
import type { SessionTable } from "./sessions.js";

export interface RunRecord {
  ctx: CommandContext;
  /** session scope: the draft after the handler ran */
  draft(): unknown;
  /** server scope: the staged session operation, if any */
  sessionOp(): SessionEffect | undefined;
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

export function buildContext(job: Job, deps: ContextDeps): RunRecord {
  const entry = job.sessionId !== null && job.def?.scope === "session" ? deps.sessions.get(job.sessionId) : undefined;
  let draft: unknown = entry ? structuredClone(entry.state) : undefined;
  let op: SessionEffect | undefined;
  const events: RunRecord["events"] = [];
  const clock: number[] = [];
  const randoms: number[] = [];
  const staged = (): never => {
    throw new CausewayError("invalid_command", "a command may create or delete at most one session");
  };
  const sessions: SessionsApi = {
    exists: (id) => deps.sessions.has(id),
    list: () => deps.sessions.list().sort((a, b) => (a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : 0)).map((s) => ({ sessionId: s.sessionId, sessionVersion: s.version, createdAt: s.createdAt })),
    count: () => deps.sessions.size(),
    create(id, state) {
      if (job.def?.scope !== "server") throw new Error("ctx.sessions is only available to server-scope commands");
      if (op) staged();
      if (deps.sessions.has(id)) throw new CausewayError("session_exists", `session ${id} already exists`);
      if (deps.sessions.size() >= deps.maxSessions) throw new CausewayError("limit_exceeded", `the server holds the maximum of ${deps.maxSessions} sessions`);
      op = { kind: "create", sessionId: id, state: state ?? {}, version: 0 };
      return { sessionId: id, sessionVersion: 0, createdAt: job.acceptedAt };
    },
    delete(id) {
      if (job.def?.scope !== "server") throw new Error("ctx.sessions is only available to server-scope commands");
      if (op) staged();
      if (!deps.sessions.has(id)) throw new CausewayError("session_not_found", `session ${id} does not exist`);
      op = { kind: "delete", sessionId: id };
    },
  };
  let log: Logger | undefined;
  const ctx: CommandContext = {
    commandId: job.id,
    type: job.type,
    sessionId: job.sessionId,
    get state() {
      return draft;
    },
    set state(v: unknown) {
      draft = v;
    },
    replaceState(next: unknown) {
      draft = next;
    },
    sessionVersion: entry ? entry.version : null,
    signal: job.abort.signal,
    emit(event: unknown) {
      if (job.sessionId === null) throw new Error("ctx.emit needs a session-scope command");
      events.push({ sessionId: job.sessionId, event: structuredClone(event) });
    },
    actor: job.actor,
    get log() {
      return (log ??= deps.log.child({ commandId: job.id, type: job.type }));
    },
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
    sessions,
  };
  const recorded = (): { clock?: number[]; random?: number[] } | undefined => {
    if (clock.length === 0 && randoms.length === 0) return undefined;
    return { ...(clock.length ? { clock } : {}), ...(randoms.length ? { random: randoms } : {}) };
  };
  return { ctx, draft: () => draft, sessionOp: () => op, events, recorded };
}
