/**
 * What a handler produced, checked and copied before anything of it is kept: its result, and the
 * session state it leaves (the draft of a session write, or the state of a session a server-scope
 * handler creates). One function for the engine (live runs) and the audit (re-execution).
 *
 * Every value must pass the strict JSON-value rule (src/protocol/json-value.ts); a value that does
 * not fails the command with `handler_error` naming the path of the first bad value. Its size is
 * then measured on the JSON text the copy serializes anyway (no second serialization): above
 * `maxResultBytes` the command fails with `result_too_large`, a state above `maxStateBytes` with
 * `state_too_large` (the command fails, so the session state is unchanged). The copy is a JSON
 * round trip, so nothing the handler still holds a reference to can change it later.
 */
import type { SessionEffect } from "./status.js";
import { describeViolation, findNonJson } from "../protocol/json-value.js";
import { OutputRefused } from "./handler-codes.js";

export interface HandlerOutput {
  /** the response `data` (undefined: none) */
  result: unknown;
  /** a session write: the new state (a handler that left `undefined` leaves null) */
  state?: unknown;
  /** a server-scope command: the staged session operation, with a checked copy of a created state */
  sessionOp?: SessionEffect;
}

/** What the output rule needs to know of a command definition. */
export interface OutputShape {
  scope: "session" | "server";
  effect: "read" | "write";
}

/** What a handler left behind besides its return value (the handler context's record). */
export interface RunLeftovers {
  /** session scope: the draft after the handler ran */
  draft(): unknown;
  /** server scope: the session operation it staged, if any */
  sessionOp(): SessionEffect | undefined;
}

export interface OutputLimits {
  maxResultBytes: number;
  maxStateBytes: number;
}

/** No size limits (the audit: the server's limits are not in the journal; size refusals are not re-run). */
export const UNLIMITED_OUTPUT: OutputLimits = { maxResultBytes: Infinity, maxStateBytes: Infinity };

/** Check and copy a handler's output. Throws OutputRefused. */
export function takeOutput(def: OutputShape, run: RunLeftovers, data: unknown, limits: OutputLimits): HandlerOutput {
  const result = data === undefined ? undefined : jsonCopy(data, "result", limits.maxResultBytes);
  if (def.scope === "session") {
    if (def.effect === "read") return { result };
    const draft = run.draft();
    return { result, state: draft === undefined ? null : jsonCopy(draft, "state", limits.maxStateBytes) };
  }
  const op = run.sessionOp();
  if (op?.kind === "create") return { result, sessionOp: { ...op, state: jsonCopy(op.state, "state", limits.maxStateBytes) } };
  return op === undefined ? { result } : { result, sessionOp: op };
}

const KINDS = {
  result: { what: "the handler's result", code: "result_too_large", limit: "maxResultBytes" },
  state: { what: "the session state the handler left", code: "state_too_large", limit: "maxStateBytes" },
} as const;

function jsonCopy(value: unknown, kind: keyof typeof KINDS, maxBytes: number): unknown {
  const k = KINDS[kind];
  const bad = findNonJson(value);
  if (bad !== null) throw new OutputRefused("handler_error", `${k.what} is not JSON: ${describeViolation(bad)}`);
  const text = JSON.stringify(value);
  // UTF-8 needs at most 3 bytes per UTF-16 unit: only a text that might be too large is measured
  if (text.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(text, "utf8");
    if (bytes > maxBytes) throw new OutputRefused(k.code, `${k.what} is ${bytes} bytes as JSON, above the ${maxBytes}-byte limit (${k.limit})`);
  }
  return JSON.parse(text) as unknown;
}
