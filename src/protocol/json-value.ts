/**
 * The strict JSON-value rule: what a handler may return as its result and leave as session state.
 * `JSON.stringify` silently rewrites what JSON cannot carry (NaN → null, a Map → {}, a Date → a
 * string, a function in an array → null) or throws without saying where (cycles, BigInt). This
 * check finds the first such value and names its JSON Pointer, so the command fails with a
 * readable `handler_error` instead of storing something other than what the handler built.
 *
 * Carried: null, booleans, strings, finite numbers, arrays, and plain objects (prototype
 * `Object.prototype` or null). An object property whose value is `undefined` is allowed and
 * omitted (JSON has no undefined; the key is simply absent). Everything else is refused: NaN,
 * ±Infinity, `undefined` in an array (or an array hole), functions, symbols, BigInt, cycles, Date
 * (store `toISOString()` or `getTime()`), Map, Set, typed arrays and every other class instance.
 * Shared references (the same object twice, not a cycle) are fine: JSON copies them.
 */

export interface JsonViolation {
  /** JSON Pointer (RFC 6901) of the offending value; "" is the value itself */
  path: string;
  /** what it is, e.g. "NaN", "a Map", "a cycle back to /a" */
  what: string;
}

/** The first value (depth-first, in key order) JSON cannot carry faithfully, or null if none. */
export function findNonJson(value: unknown): JsonViolation | null {
  const ancestors: object[] = [];
  const segments: string[] = [];
  try {
    const what = visit(value, ancestors, segments);
    return what === null ? null : { path: pointer(segments), what };
  } catch (err) {
    if (err instanceof RangeError) return { path: pointer(segments.slice(0, 64)), what: "nested too deeply to serialize" };
    throw err;
  }
}

/** "NaN at /a/0/b" (or "NaN (the value itself)" at the root). */
export function describeViolation(v: JsonViolation): string {
  return v.path === "" ? `${v.what} (the value itself)` : `${v.what} at ${v.path}`;
}

/** Returns what is wrong with `v` (leaving `segments` at its path), or null. */
function visit(v: unknown, ancestors: object[], segments: string[]): string | null {
  switch (typeof v) {
    case "string":
    case "boolean":
      return null;
    case "number":
      return Number.isFinite(v) ? null : String(v);
    case "object":
      return v === null ? null : visitObject(v, ancestors, segments);
    case "undefined":
      return "undefined";
    case "bigint":
      return "a BigInt";
    case "symbol":
      return "a symbol";
    default:
      return "a function";
  }
}

function visitObject(v: object, ancestors: object[], segments: string[]): string | null {
  const at = ancestors.indexOf(v);
  if (at !== -1) return `a cycle back to ${at === 0 ? "the value itself" : pointer(segments.slice(0, at))}`;
  const isArray = Array.isArray(v);
  if (!isArray) {
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return describeInstance(v);
  }
  ancestors.push(v);
  if (isArray) {
    const arr = v as unknown[];
    for (let i = 0; i < arr.length; i++) {
      segments.push(String(i));
      const item = arr[i];
      const what = item === undefined ? "undefined in an array (JSON would turn it into null)" : visit(item, ancestors, segments);
      if (what !== null) return what;
      segments.pop();
    }
  } else {
    const obj = v as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      const item = obj[key];
      if (item === undefined) continue; // omitted, like JSON.stringify does
      segments.push(key);
      const what = visit(item, ancestors, segments);
      if (what !== null) return what;
      segments.pop();
    }
  }
  ancestors.pop();
  return null;
}

function describeInstance(v: object): string {
  if (v instanceof Date) return "a Date (store date.toISOString() or date.getTime())";
  if (v instanceof Map) return "a Map (use a plain object)";
  if (v instanceof Set) return "a Set (use an array)";
  const name = (v as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === "string" && name !== "" ? `an instance of ${name} (only plain objects and arrays)` : "an object that is not a plain object";
}

function pointer(segments: readonly string[]): string {
  let out = "";
  for (const s of segments) out += "/" + s.replace(/~/g, "~0").replace(/\//g, "~1");
  return out;
}
