/**
 * What a handler produced, checked and copied before anything of it is kept: its result, and the
 * session state it leaves (the draft of a session write, or the state of a session a server-scope
 * handler creates). One function for the engine (live runs) and the audit (re-execution).
 *
 * Every value must pass the strict JSON-value rule (src/protocol/json-value.ts); a value that does
 * not fails the command with `handler_error` naming the path of the first bad value. The copy is a
 * JSON round trip, so nothing the handler still holds a reference to can change it later.
 */
import type { SessionEffect } from "../journal/types.js";
import { describeViolation, findNonJson } from "../protocol/json-value.js";
import type { ContextRun } from "./context.js";
import type { CommandDefinition } from "./define.js";
import { OutputRefused } from "./handler-codes.js";

export interface HandlerOutput {
  /** the response `data` (undefined: none) */
  result: unknown;
  /** a session write: the new state (a handler that left `undefined` leaves null) */
  state?: unknown;
  /** a server-scope command: the staged session operation, with a checked copy of a created state */
  sessionOp?: SessionEffect;
}

/** Check and copy a handler's output. Throws OutputRefused. */
export function takeOutput(def: CommandDefinition, run: ContextRun, data: unknown): HandlerOutput {
  const result = data === undefined ? undefined : jsonCopy(data, "result");
  if (def.scope === "session") {
    if (def.effect === "read") return { result };
    const draft = run.draft();
    return { result, state: draft === undefined ? null : jsonCopy(draft, "state") };
  }
  const op = run.sessionOp();
  if (op?.kind === "create") return { result, sessionOp: { ...op, state: jsonCopy(op.state, "state") } };
  return op === undefined ? { result } : { result, sessionOp: op };
}

const WHAT = { result: "the handler's result", state: "the session state the handler left" } as const;

function jsonCopy(value: unknown, kind: keyof typeof WHAT): unknown {
  const bad = findNonJson(value);
  if (bad !== null) throw new OutputRefused("handler_error", `${WHAT[kind]} is not JSON: ${describeViolation(bad)}`);
  return JSON.parse(JSON.stringify(value)) as unknown;
}
