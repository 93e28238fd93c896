/**
 * The `ctx` contract every handler runs with, built in one place. The engine (live runs) and the
 * audit (re-execution) differ only in what they plug in: where sessions are read from, where
 * ctx.now() / ctx.random() come from, and what happens to emitted events.
 */
import type { Logger } from "pino";
import type { SessionEffect } from "../lifecycle/status.js";
import { CausewayError } from "../protocol/errors.js";
import { sessionExists, sessionNotFound } from "../protocol/messages.js";
import type { CommandContext, CommandScope, SessionsApi } from "./define.js";
import type { SessionFacts } from "./session-info.js";


/** The sessions a handler may look at. */
export interface SessionsView {
  exists(sessionId: string): boolean;
  list(): SessionFacts[];
  count(): number;
  /** whether `maxSessions` is reached; null when the caller cannot tell (then it is assumed not) */
  atLimit(maxSessions: number): boolean | null;
}

export interface ContextInput {
  commandId: string;
  type: string;
  scope: CommandScope;
  /** session scope: the session; server scope: null */
  sessionId: string | null;
  actor: string;
  acceptedAt: number;
  /** session scope: the session's state before the command (copied into the draft) */
  state: unknown;
  sessionVersion: number | null;
  sessions: SessionsView;
  maxSessions: number;
  signal(): AbortSignal;
  log(): Logger;
  now(): number;
  random(): number;
  emit(sessionId: string, event: unknown): void;
  /** the maxSessions check could not be made and was assumed to pass */
  onLimitUnknown?(): void;
}

export interface ContextRun {
  ctx: CommandContext;
  /** session scope: the draft after the handler ran */
  draft(): unknown;
  /** server scope: the staged session operation, if any */
  sessionOp(): SessionEffect | undefined;
}

export function createContext(input: ContextInput): ContextRun {
  let draft: unknown = input.scope === "session" ? structuredClone(input.state) : undefined;
  let op: SessionEffect | undefined;
  const stage = (): void => {
    if (input.scope !== "server") throw new Error("ctx.sessions is only available to server-scope commands");
    if (op) throw new CausewayError("invalid_command", "a command may create or delete at most one session");
  };
  const sessions: SessionsApi = {
    exists: (id) => input.sessions.exists(id),
    list: () => input.sessions.list(),
    count: () => input.sessions.count(),
    create(id, state) {
      stage();
      if (input.sessions.exists(id)) throw new CausewayError("session_exists", sessionExists(id));
      const atLimit = input.sessions.atLimit(input.maxSessions);
      if (atLimit === null) input.onLimitUnknown?.();
      else if (atLimit) throw new CausewayError("limit_exceeded", `the server holds the maximum of ${input.maxSessions} sessions`);
      op = { kind: "create", sessionId: id, state: state ?? {}, version: 0, createdAt: input.acceptedAt };
      return { sessionId: id, sessionVersion: 0, createdAt: input.acceptedAt };
    },
    delete(id) {
      stage();
      if (!input.sessions.exists(id)) throw new CausewayError("session_not_found", sessionNotFound(id));
      op = { kind: "delete", sessionId: id };
    },
  };
  const ctx: CommandContext = {
    commandId: input.commandId,
    type: input.type,
    sessionId: input.sessionId,
    get state() {
      return draft;
    },
    set state(v: unknown) {
      draft = v;
    },
    replaceState(next: unknown) {
      draft = next;
    },
    sessionVersion: input.sessionVersion,
    get signal() {
      return input.signal();
    },
    emit(event: unknown) {
      if (input.sessionId === null) throw new Error("ctx.emit needs a session-scope command");
      input.emit(input.sessionId, event);
    },
    actor: input.actor,
    get log() {
      return input.log();
    },
    now: () => input.now(),
    random: () => input.random(),
    sessions,
  };
  return { ctx, draft: () => draft, sessionOp: () => op };
}
