/**
 * The `ctx` contract every handler runs with, built in one place. The engine (live runs) and the
 * audit (re-execution) differ only in what they plug in: where sessions are read from, where
 * ctx.now() / ctx.random() come from, and what happens to emitted events.
 */
import type { Logger } from "pino";
import { Immer, current, isDraft, isDraftable } from "immer";
import { diffStates, type PatchOp } from "../lifecycle/state-change.js";
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
  /** session scope: the session's state before the command (drafted copy-on-write, never mutated) */
  state: unknown;
  /** the JSON size of `state` (UTF-8 bytes of JSON.stringify); omitted: unknown (no size limit applies) */
  stateBytes?: number;
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

/** What a session-scope handler did to its draft (read once, after the handler returned). */
export type StateChange =
  /** changed in place (or not at all: no ops); the op values are the handler's, not yet checked */
  | { kind: "ops"; ops: PatchOp[] }
  /** the handler assigned another value (ctx.state = …, replaceState); may hold drafts, so it is copied at once */
  | { kind: "replace"; state: unknown };

export interface ContextRun {
  ctx: CommandContext;
  /** session scope: what the handler did to the state */
  change(): StateChange;
  /** session scope: the state the draft started from, and its JSON size (NaN: unknown) */
  base(): { state: unknown; bytes: number };
  /** server scope: the staged session operation, if any */
  sessionOp(): SessionEffect | undefined;
}

/** Copy-on-write drafts (issue #17): a handler's ctx.state costs what it touches, not the document. */
const immer = new Immer({ autoFreeze: false });

/**
 * A copy of an emitted event nothing the handler holds can change: a structured clone, with any
 * draft of the session state in it (e.g. `ctx.emit({items: ctx.state.items})`) read as it is now.
 */
export function copyEvent(event: unknown): unknown {
  return structuredClone(undraft(event));
}

function undraft(v: unknown): unknown {
  if (isDraft(v)) return current(v);
  if (typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) return v.some((x) => typeof x === "object" && x !== null) ? v.map(undraft) : v;
  if (Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = undraft(x);
  return out;
}

function draftOf(state: unknown): unknown {
  return isDraftable(state) && typeof state === "object" && state !== null ? immer.createDraft(state as object) : state;
}

export function createContext(input: ContextInput): ContextRun {
  const root: unknown = input.scope === "session" ? draftOf(input.state) : undefined;
  let draft: unknown = root;
  let change: StateChange | undefined;
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
  const finish = (): StateChange => {
    if (draft !== root) return { kind: "replace", state: draft };
    if (!isDraft(root)) return { kind: "ops", ops: [] };
    return { kind: "ops", ops: diffStates(input.state, immer.finishDraft(root)) };
  };
  const base = (): { state: unknown; bytes: number } => ({ state: input.state, bytes: input.stateBytes ?? Number.NaN });
  return { ctx, change: () => (change ??= finish()), base, sessionOp: () => op };
}
