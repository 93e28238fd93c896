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

/** A draft of `state` when it is a draftable document, else `state` itself. */
function draftOf(state: unknown): unknown {
  return isDraftable(state) && typeof state === "object" && state !== null ? immer.createDraft(state as object) : state;
}

/** Marks a run's draft (or assigned state) as not there yet. */
const NO_DRAFT: unique symbol = Symbol("no draft yet");

/**
 * One handler run: the draft (made when `ctx.state` is first read, so a handler that never looks
 * at the state costs no draft), the staged session operation, and the change read once afterwards.
 * A class, not an object literal with accessors: one such literal per command cost ~3.5 µs (#17).
 */
class HandlerRun implements ContextRun {
  /** the draft made from input.state (NO_DRAFT: not made yet) */
  root: unknown = NO_DRAFT;
  /** what ctx.state is now: the root draft, or what the handler assigned (NO_DRAFT: the root) */
  current: unknown = NO_DRAFT;
  op: SessionEffect | undefined;
  private changed: StateChange | undefined;
  readonly ctx: CommandContext;

  constructor(readonly input: ContextInput) {
    this.ctx = new HandlerContext(this, input);
  }

  state(): unknown {
    if (this.current !== NO_DRAFT) return this.current;
    if (this.root === NO_DRAFT) this.root = this.input.scope === "session" ? draftOf(this.input.state) : undefined;
    return this.root;
  }

  change(): StateChange {
    return (this.changed ??= this.finish());
  }

  base(): { state: unknown; bytes: number } {
    return { state: this.input.state, bytes: this.input.stateBytes ?? Number.NaN };
  }

  sessionOp(): SessionEffect | undefined {
    return this.op;
  }

  private finish(): StateChange {
    if (this.current !== NO_DRAFT && this.current !== this.root) return { kind: "replace", state: this.current };
    const root = this.root;
    if (root === NO_DRAFT || !isDraft(root)) return { kind: "ops", ops: [] };
    return { kind: "ops", ops: diffStates(this.input.state, immer.finishDraft(root)) };
  }
}

class HandlerContext implements CommandContext {
  readonly commandId: string;
  readonly type: string;
  readonly sessionId: string | null;
  readonly sessionVersion: number | null;
  readonly actor: string;
  // own functions, not prototype methods: a handler may pass them on unbound (`const { now } = ctx`)
  readonly now: () => number;
  readonly random: () => number;
  readonly emit: (event: unknown) => void;
  readonly replaceState: (next: unknown) => void;
  #run: HandlerRun;
  #sessions: SessionsApi | undefined;

  constructor(run: HandlerRun, input: ContextInput) {
    this.#run = run;
    this.commandId = input.commandId;
    this.type = input.type;
    this.sessionId = input.sessionId;
    this.sessionVersion = input.sessionVersion;
    this.actor = input.actor;
    this.now = () => input.now();
    this.random = () => input.random();
    this.emit = (event) => {
      if (input.sessionId === null) throw new Error("ctx.emit needs a session-scope command");
      input.emit(input.sessionId, event);
    };
    this.replaceState = (next) => {
      run.current = next;
    };
  }

  get state(): unknown {
    return this.#run.state();
  }

  set state(v: unknown) {
    this.#run.current = v;
  }

  get signal(): AbortSignal {
    return this.#run.input.signal();
  }

  get log(): Logger {
    return this.#run.input.log();
  }

  get sessions(): SessionsApi {
    return (this.#sessions ??= sessionsApi(this.#run));
  }
}

/** ctx.sessions: what a server-scope handler may look at, and at most one staged create or delete. */
function sessionsApi(run: HandlerRun): SessionsApi {
  const input = run.input;
  const stage = (): void => {
    if (input.scope !== "server") throw new Error("ctx.sessions is only available to server-scope commands");
    if (run.op) throw new CausewayError("invalid_command", "a command may create or delete at most one session");
  };
  return {
    exists: (id) => input.sessions.exists(id),
    list: () => input.sessions.list(),
    count: () => input.sessions.count(),
    create(id, state) {
      stage();
      if (input.sessions.exists(id)) throw new CausewayError("session_exists", sessionExists(id));
      const atLimit = input.sessions.atLimit(input.maxSessions);
      if (atLimit === null) input.onLimitUnknown?.();
      else if (atLimit) throw new CausewayError("limit_exceeded", `the server holds the maximum of ${input.maxSessions} sessions`);
      run.op = { kind: "create", sessionId: id, state: state ?? {}, version: 0, createdAt: input.acceptedAt };
      return { sessionId: id, sessionVersion: 0, createdAt: input.acceptedAt };
    },
    delete(id) {
      stage();
      if (!input.sessions.exists(id)) throw new CausewayError("session_not_found", sessionNotFound(id));
      run.op = { kind: "delete", sessionId: id };
    },
  };
}

export function createContext(input: ContextInput): ContextRun {
  return new HandlerRun(input);
}
