/**
 * `patch` (RFC 6902) on a private copy of the session state, op by op with fast-json-patch, plus
 * two rules the library does not enforce:
 * - the banned path segments of `set` (pointer.ts, one rule for both): any op whose `path` or
 *   `from` names `__proto__`, `constructor` or `prototype` refuses the whole patch with
 *   `invalid_command`, before anything is applied;
 * - existence by own properties (RFC 6902 §4: the target of `remove`, `replace` and `test`, and
 *   the `from` of `move` and `copy`, must exist; the parent of an added location must exist). The
 *   library looks members up with `obj[key]`, so an inherited `constructor` or `toString` counted
 *   as existing and `replace /constructor` succeeded on a document without that key.
 * A failing op throws `patch_failed` naming the op, its index and its path. The ops are applied
 * from a copy: the library inserts an op's `value` by reference, so a later op (`add /b/c/-` after
 * `add /b {"c":[]}`) would otherwise change the command's params, which are journaled after the
 * handler ran.
 */
import jsonPatch from "fast-json-patch";
import type { Operation } from "fast-json-patch";
import { CausewayError } from "../../protocol/errors.js";
import { hasPointer, refuseBannedPath } from "./pointer.js";

export const PATCH_OPS = ["add", "remove", "replace", "move", "copy", "test"] as const;

/** Apply `ops` to `doc` (which it mutates) and return the new document. */
export function applyOps(doc: unknown, params: Operation[]): unknown {
  const ops = structuredClone(params);
  ops.forEach((op, i) => {
    refuseBannedPath(op.path, `patch op ${i} (${op.op})`);
    if ("from" in op && typeof op.from === "string") refuseBannedPath(op.from, `patch op ${i} (${op.op} from)`);
  });
  let current = doc;
  ops.forEach((op, i) => {
    const missing = missingTarget(current, op);
    if (missing !== null) throw failed(i, op, missing);
    try {
      current = jsonPatch.applyOperation(current, op, true, true, true, i).newDocument;
    } catch (err) {
      throw failed(i, op, ((err as Error).message ?? String(err)).split("\n")[0]!);
    }
  });
  return current;
}

/** Why `op` cannot apply to `doc` by the own-property existence rule, or null. */
function missingTarget(doc: unknown, op: Operation): string | null {
  if (!isPointer(op.path)) return null; // malformed: the library refuses it with its own message
  if ((op.op === "remove" || op.op === "replace" || op.op === "test") && !hasPointer(doc, op.path)) {
    return "the path does not exist";
  }
  if ((op.op === "move" || op.op === "copy") && isPointer(op.from) && !hasPointer(doc, op.from)) {
    return `the from path ${JSON.stringify(op.from)} does not exist`;
  }
  if ((op.op === "add" || op.op === "move" || op.op === "copy") && op.path !== "" && !hasPointer(doc, op.path.slice(0, op.path.lastIndexOf("/")))) {
    return "the parent of the path does not exist";
  }
  return null;
}

function isPointer(path: unknown): path is string {
  return typeof path === "string" && (path === "" || path.startsWith("/"));
}

function failed(index: number, op: Operation, why: string): CausewayError {
  return new CausewayError("patch_failed", `patch op ${index} (${op.op} ${JSON.stringify(op.path)}) failed: ${why}`, { index });
}
