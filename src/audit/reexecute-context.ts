/**
 * The `ctx` a handler gets when the audit runs it again. It mirrors src/engine/context.ts (same
 * draft, staged session operations and errors) with two differences:
 * - ctx.now() / ctx.random() return the values the original run journaled (finished row
 *   detail.clock / detail.random), in order; asking for more than were recorded fails the run;
 * - sessions are read from the audit's session table, which may not know everything in a windowed
 *   or session-filtered audit: reading an unknown fact throws OutOfScopeError (the command is
 *   skipped, not reported).
 * buildContext itself is not reused: it takes a Job and the engine's SessionTable and draws
 * ctx.random() from Math.random().
 */
import pino, { type Logger } from "pino";
import type { CommandContext, CommandScope, SessionsApi } from "../commands/define.js";
import type { SessionEffect } from "../journal/types.js";
import { CausewayError } from "../protocol/errors.js";

/**
 * The handler read a fact the audit does not have: outside a window or a session filter, or gone
 * with a compacted prefix. The command is skipped ("unknown_input"), not reported.
 */
export class OutOfScopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OutOfScopeError";
  }
}

/** The handler asked for more ctx.now() / ctx.random() values than the original run recorded. */
export class RecordedValuesExhausted extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RecordedValuesExhausted";
  }
}

/** The sessions a handler may look at. */
export interface SessionsView {
  /** throws OutOfScopeError when unknown */
  exists(sessionId: string): boolean;
  /** throws OutOfScopeError when unknown */
  list(): Array<{ sessionId: string; sessionVersion: number; createdAt: number }>;
  /** throws OutOfScopeError when unknown */
  count(): number;
  /** null: the number of sessions is unknown */
  atLimit(maxSessions: number): boolean | null;
}

export interface ReexecContextInput {
  commandId: string;
  type: string;
  scope: CommandScope;
  /** session scope: the session; server scope: null */
  sessionId: string | null;
  actor: string;
  acceptedAt: number;
  /** session scope: the session's state and version before the command */
  state?: unknown;
  sessionVersion: number | null;
  clock: readonly number[];
  random: readonly number[];
  sessions: SessionsView;
  maxSessions: number;
  /** created on first use (most handlers never look at it) */
  signal: () => AbortSignal;
}

export interface ReexecRun {
  ctx: CommandContext;
  draft(): unknown;
  sessionOp(): SessionEffect | undefined;
  consumed(): { clock: number; random: number };
  /** the maxSessions check could not be made (unknown session count) and was assumed to pass */
  limitAssumed(): boolean;
}

const silent: Logger = pino({ level: "silent" });

export function buildReexecContext(input: ReexecContextInput): ReexecRun {
  let draft: unknown = input.scope === "session" ? structuredClone(input.state) : undefined;
  let op: SessionEffect | undefined;
  let clockAt = 0;
  let randomAt = 0;
  let limitAssumed = false;
  const staged = (): never => {
    throw new CausewayError("invalid_command", "a command may create or delete at most one session");
  };
  const sessions: SessionsApi = {
    exists: (id) => input.sessions.exists(id),
    list: () => input.sessions.list(),
    count: () => input.sessions.count(),
    create(id, state) {
      if (input.scope !== "server") throw new Error("ctx.sessions is only available to server-scope commands");
      if (op) staged();
      if (input.sessions.exists(id)) throw new CausewayError("session_exists", `session ${id} already exists`);
      const atLimit = input.sessions.atLimit(input.maxSessions);
      if (atLimit === null) limitAssumed = true;
      else if (atLimit) throw new CausewayError("limit_exceeded", `the server holds the maximum of ${input.maxSessions} sessions`);
      op = { kind: "create", sessionId: id, state: state ?? {}, version: 0 };
      return { sessionId: id, sessionVersion: 0, createdAt: input.acceptedAt };
    },
    delete(id) {
      if (input.scope !== "server") throw new Error("ctx.sessions is only available to server-scope commands");
      if (op) staged();
      if (!input.sessions.exists(id)) throw new CausewayError("session_not_found", `session ${id} does not exist`);
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
    emit(_event: unknown) {
      if (input.sessionId === null) throw new Error("ctx.emit needs a session-scope command");
    },
    actor: input.actor,
    log: silent,
    now() {
      if (clockAt >= input.clock.length) throw new RecordedValuesExhausted(`ctx.now() called ${clockAt + 1} times; the original run recorded ${input.clock.length}`);
      return input.clock[clockAt++]!;
    },
    random() {
      if (randomAt >= input.random.length) throw new RecordedValuesExhausted(`ctx.random() called ${randomAt + 1} times; the original run recorded ${input.random.length}`);
      return input.random[randomAt++]!;
    },
    sessions,
  };
  return {
    ctx,
    draft: () => draft,
    sessionOp: () => op,
    consumed: () => ({ clock: clockAt, random: randomAt }),
    limitAssumed: () => limitAssumed,
  };
}
