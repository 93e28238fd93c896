/**
 * The `ctx` a handler gets when the audit runs it again. Like src/engine/context.ts (same
 * draft, staged session operations and errors) with two differences:
 * - ctx.now() / ctx.random() return the values the original run journaled (finished row
 *   detail.clock / detail.random), in order; asking for more than were recorded fails the run;
 * - sessions are read from the audit's session table, which may not know everything in a windowed
 *   or session-filtered audit: reading an unknown fact throws OutOfScopeError (the command is
 *   skipped, not reported).
 * Both build the ctx through createContext (src/commands/context.ts); only these inputs differ.
 */
import pino, { type Logger } from "pino";
import { createContext, type ContextRun, type SessionsView } from "../commands/handler-context.js";
import type { CommandScope } from "../commands/define.js";

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

export type { SessionsView };

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

export interface ReexecRun extends ContextRun {
  consumed(): { clock: number; random: number };
  /** the maxSessions check could not be made (unknown session count) and was assumed to pass */
  limitAssumed(): boolean;
}

const silent: Logger = pino({ level: "silent" });

export function buildReexecContext(input: ReexecContextInput): ReexecRun {
  let clockAt = 0;
  let randomAt = 0;
  let limitAssumed = false;
  const run = createContext({
    ...input,
    state: input.state,
    log: () => silent,
    now() {
      if (clockAt >= input.clock.length) throw new RecordedValuesExhausted(`ctx.now() called ${clockAt + 1} times; the original run recorded ${input.clock.length}`);
      return input.clock[clockAt++]!;
    },
    random() {
      if (randomAt >= input.random.length) throw new RecordedValuesExhausted(`ctx.random() called ${randomAt + 1} times; the original run recorded ${input.random.length}`);
      return input.random[randomAt++]!;
    },
    // session events are not journaled: nothing to compare
    emit: () => {},
    onLimitUnknown: () => {
      limitAssumed = true;
    },
  });
  // added to the run itself (a class instance: a spread would drop its methods)
  return Object.assign(run, {
    consumed: () => ({ clock: clockAt, random: randomAt }),
    limitAssumed: () => limitAssumed,
  });
}
