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
 *
 * A session write costs what it changes (issue #17): only the changed values (the operations of
 * the handler's draft, state-change.ts) are checked and copied, the copies are applied to the
 * stored state (which is shared, never mutated), and the new state's JSON size is the old size
 * plus what the operations add or remove, so `maxStateBytes` keeps its meaning (UTF-8 bytes of
 * JSON.stringify(state)) without serializing the document. A handler that replaced the state
 * (ctx.state = …, replaceState) has the whole value checked and copied, as before.
 */
import type { SessionEffect } from "./status.js";
import { describeViolation, findNonJson } from "../protocol/json-value.js";
import { OutputRefused } from "./handler-codes.js";
import { applyOps, deepFreeze, type PatchOp } from "./state-change.js";

/** A session write's checked result: the new state, its size, and the change that made it. */
export interface StateWrite {
  /** the change as operations on the old state; null: the state was replaced whole */
  ops: PatchOp[] | null;
  /** the new state (frozen; shares what did not change with the old one) */
  state: unknown;
  /** UTF-8 bytes of JSON.stringify(state); NaN when the old state's size was not given */
  bytes: number;
}

export interface HandlerOutput {
  /** the response `data` (undefined: none) */
  result: unknown;
  /** a session write: the new state (a handler that left `undefined` leaves null) */
  write?: StateWrite;
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
  /** session scope: what the handler did to its draft */
  change(): { kind: "ops"; ops: PatchOp[] } | { kind: "replace"; state: unknown };
  /** session scope: the state the draft started from and its JSON size (NaN: unknown) */
  base(): { state: unknown; bytes: number };
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
    return { result, write: takeWrite(run, limits.maxStateBytes) };
  }
  const op = run.sessionOp();
  if (op?.kind === "create") return { result, sessionOp: { ...op, state: deepFreeze(jsonCopy(op.state, "state", limits.maxStateBytes)) } };
  return op === undefined ? { result } : { result, sessionOp: op };
}

/** The handler's change, checked and copied value by value, applied to the old state. */
function takeWrite(run: RunLeftovers, maxBytes: number): StateWrite {
  const change = run.change();
  if (change.kind === "replace") {
    const text = jsonText(change.state === undefined ? null : change.state, "state", "");
    const bytes = checkSize(text, "state", maxBytes, true);
    return { ops: null, state: deepFreeze(JSON.parse(text) as unknown), bytes };
  }
  const ops = change.ops.map((op): PatchOp => (op.op === "remove" ? op : { op: op.op, path: op.path, value: JSON.parse(jsonText(op.value, "state", op.path)) as unknown }));
  const base = run.base();
  const applied = applyOps(base.state, ops, base.bytes);
  if (applied.bytes > maxBytes) throw tooLarge("state", applied.bytes, maxBytes);
  return { ops, state: applied.state, bytes: applied.bytes };
}

const KINDS = {
  result: { what: "the handler's result", code: "result_too_large", limit: "maxResultBytes" },
  state: { what: "the session state the handler left", code: "state_too_large", limit: "maxStateBytes" },
} as const;

function jsonCopy(value: unknown, kind: keyof typeof KINDS, maxBytes: number): unknown {
  const text = jsonText(value, kind, "");
  checkSize(text, kind, maxBytes, false);
  return JSON.parse(text) as unknown;
}

/** The JSON text of a value that passes the strict rule (`at`: its JSON Pointer in the whole value). */
function jsonText(value: unknown, kind: keyof typeof KINDS, at: string): string {
  const bad = findNonJson(value);
  if (bad !== null) throw new OutputRefused("handler_error", `${KINDS[kind].what} is not JSON: ${describeViolation({ path: at + bad.path, what: bad.what })}`);
  return JSON.stringify(value);
}

/** Throws when `text` is above `maxBytes` as UTF-8; returns its size when `exact` (else a lower bound). */
function checkSize(text: string, kind: keyof typeof KINDS, maxBytes: number, exact: boolean): number {
  // UTF-8 needs at most 3 bytes per UTF-16 unit: only a text that might be too large is measured
  if (!exact && text.length * 3 <= maxBytes) return text.length;
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > maxBytes) throw tooLarge(kind, bytes, maxBytes);
  return bytes;
}

function tooLarge(kind: keyof typeof KINDS, bytes: number, maxBytes: number): OutputRefused {
  const k = KINDS[kind];
  return new OutputRefused(k.code, `${k.what} is ${bytes} bytes as JSON, above the ${maxBytes}-byte limit (${k.limit})`);
}
