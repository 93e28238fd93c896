/**
 * The public command registry API. Built-in commands use exactly this API.
 *
 *   export default defineCommand({
 *     type: "increment", scope: "session", effect: "write",
 *     params: { type: "object", properties: { by: { type: "integer" } }, required: ["by"] },
 *     run(ctx, { by }) { ctx.state.count = (ctx.state.count ?? 0) + by; return { count: ctx.state.count }; },
 *   });
 */
import type { Logger } from "pino";
import { checkDeclaredCodes } from "../lifecycle/handler-codes.js";
import type { ParamsSchema } from "../protocol/schemas.js";

export type CommandScope = "session" | "server";
export type CommandEffect = "read" | "write";

export type { ParamsSchema };

/** Staged session operations for server-scope commands; applied only if the command succeeds. */
export interface SessionsApi {
  exists(sessionId: string): boolean;
  list(): Array<{ sessionId: string; sessionVersion: number; createdAt: number }>;
  count(): number;
  create(sessionId: string, state: unknown): { sessionId: string; sessionVersion: number; createdAt: number };
  delete(sessionId: string): void;
}

export interface CommandContext {
  readonly commandId: string;
  readonly type: string;
  /** session-scope commands: the session id; server scope: null */
  readonly sessionId: string | null;
  /**
   * Session scope: a private draft of the session state (a JSON document). Mutate it freely; only a
   * successful `write` command commits it and bumps the session version. Read commands get a draft
   * too, whose changes are dropped. The draft is copy-on-write (an immer Proxy): only what the handler
   * touches is copied, and `structuredClone` cannot copy it (use JSON.parse(JSON.stringify(…))).
   */
  state: any;
  /** Replace the whole draft (e.g. with a non-object document). */
  replaceState(next: unknown): void;
  /** Session scope: the version the draft is based on. */
  readonly sessionVersion: number | null;
  /** Aborted when the command times out or the server gives up on it. */
  readonly signal: AbortSignal;
  /** Send a session event to the session's subscribers, after the command's outcome is committed. */
  emit(event: unknown): void;
  readonly actor: string;
  readonly log: Logger;
  /** Clock and randomness for deterministic handlers (recorded semantics: see PROTOCOL.md). */
  now(): number;
  random(): number;
  /** Server scope only. */
  readonly sessions: SessionsApi;
}

/** Internal: the key under which operator commands find their submission on `ctx`. */
export const SUBMISSION: unique symbol = Symbol("causeway.submission");

/** Internal: what an operator command knows of the command that invoked it. */
export interface Submission {
  /** the operator command's own id */
  commandId: string;
  /** the submitting connection (a transport Connection); null after a restart re-queued it */
  conn: unknown;
  envelope: Record<string, unknown> & { type: string };
  actor: string;
  roles: readonly string[];
}

export interface CommandDefinition<P = any> {
  type: string;
  scope: CommandScope;
  effect: CommandEffect;
  params?: ParamsSchema;
  /** default timeout for this type; config `timeouts[type]` overrides it */
  timeoutMs?: number;
  /**
   * true: the handler is a pure function of (state, params, ctx.now(), ctx.random()) with no outside
   * side effects; it may run before its `started` row is durable. false (default for user commands):
   * the handler runs only after `started` is committed, so a crash can never run it twice unnoticed.
   */
  deterministic?: boolean;
  /** On restart, a command of this type that was running is run again instead of failing `interrupted`. */
  retryable?: boolean;
  /**
   * Server scope only: the one session this command acts on (create_session, delete_session). It
   * then runs in that session's lane, FIFO with the session's own commands, and policies,
   * `list_pending`, `supersedes` and lifecycle events see that session id. `of` gets the validated
   * params and the command id (a generated session id must be a function of the command id, so
   * re-execution derives the same one). `mustExist`: the session must exist when the command
   * reaches its lane head (`session_not_found` otherwise). `ifSessionVersion`: the command takes
   * an `ifSessionVersion` precondition, checked against that session (default false: refused at
   * admission, as for every other server command).
   */
  targetSession?: { of(params: P, commandId: string): string; mustExist: boolean; ifSessionVersion?: boolean };
  /**
   * Internal (built-in operator commands only): the handler reads its submission (connection,
   * envelope, actor, roles) from `ctx[SUBMISSION]`, and which envelope `sessionId` use the schema
   * allows. Not part of the public definition API.
   */
  operator?: {
    sessionId: "none" | "optional" | "required";
    /** runs right after a successful response was sent (e.g. a subscription's journal replay) */
    afterResponse?(submission: Submission): void;
  };
  /**
   * Failure codes of this command's own, beyond the handler-usable ones of HANDLER_ERROR_CODES
   * (snake_case; not a reserved engine code). Throwing `new CausewayError(code, message)` with a
   * code that is neither fails the command with `handler_error` instead.
   */
  errorCodes?: readonly string[];
  run(ctx: CommandContext, params: P): unknown | Promise<unknown>;
}

const TYPE_PATTERN = /^[a-z][a-z0-9_.:-]{0,63}$/;

export function defineCommand<P = any>(def: CommandDefinition<P>): CommandDefinition<P> {
  if (!TYPE_PATTERN.test(def.type)) throw new TypeError(`command type ${JSON.stringify(def.type)} must match ${TYPE_PATTERN}`);
  if (def.scope !== "session" && def.scope !== "server") throw new TypeError(`command ${def.type}: scope must be "session" or "server"`);
  if (def.effect !== "read" && def.effect !== "write") throw new TypeError(`command ${def.type}: effect must be "read" or "write"`);
  if (typeof def.run !== "function") throw new TypeError(`command ${def.type}: run must be a function`);
  if (def.targetSession !== undefined && (def.scope !== "server" || typeof def.targetSession.of !== "function"))
    throw new TypeError(`command ${def.type}: targetSession needs scope "server" and an of(params, commandId) function`);
  if (def.timeoutMs !== undefined && !(Number.isInteger(def.timeoutMs) && def.timeoutMs > 0))
    throw new TypeError(`command ${def.type}: timeoutMs must be a positive integer`);
  const errorCodes = checkDeclaredCodes(def.type, def.errorCodes);
  return Object.freeze(errorCodes === undefined ? { ...def } : { ...def, errorCodes });
}
