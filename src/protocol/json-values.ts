/**
 * Values JSON.parse accepts but the protocol must not: a number that overflowed to ±Infinity
 * (`1e400`), and a string that is not well-formed Unicode (a lone surrogate from a `\ud800` escape),
 * anywhere in a frame, property names included. Neither survives the journal unchanged (Infinity
 * cannot be fingerprinted or stored as JSON; a lone surrogate is stored as invalid UTF-8), so the
 * frame is refused before admission.
 *
 * The walk runs on an already depth-checked value (json-depth.ts), so its recursion is bounded.
 */

declare global {
  interface String {
    /** ES2024 (Node 20): false when the string holds a lone surrogate */
    isWellFormed(): boolean;
  }
}

/** Why a parsed JSON value is refused, or null when every number is finite and every string well-formed. */
export function badJsonValue(value: unknown, path = ""): string | null {
  // the common case walks without building a JSON Pointer per key; only a refusal is described
  return isClean(value) ? null : describeBad(value, path);
}

/** Whether every number in `value` is finite and every string (property names too) well-formed. */
function isClean(value: unknown): boolean {
  if (typeof value === "number") return Number.isFinite(value);
  if (typeof value === "string") return value.isWellFormed();
  if (value === null || typeof value !== "object") return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isClean(value[i])) return false;
    return true;
  }
  const o = value as Record<string, unknown>;
  for (const key in o) if (!Object.hasOwn(o, key) || !key.isWellFormed() || !isClean(o[key])) return false;
  return true;
}

/** badJsonValue's message (null when the value is clean): the first refused place, as a JSON Pointer; exported for its test. */
export function describeBad(value: unknown, path: string): string | null {
  if (typeof value === "number") return Number.isFinite(value) ? null : `number out of range at ${pointer(path)} (it overflows to ${value})`;
  if (typeof value === "string") return value.isWellFormed() ? null : `string at ${pointer(path)} is not well-formed Unicode (lone surrogate)`;
  if (value === null || typeof value !== "object") return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = describeBad(value[i], `${path}/${i}`);
      if (bad) return bad;
    }
    return null;
  }
  for (const [key, v] of Object.entries(value)) {
    if (!key.isWellFormed()) return `property name under ${pointer(path)} is not well-formed Unicode (lone surrogate)`;
    const bad = describeBad(v, `${path}/${escapeToken(key)}`);
    if (bad) return bad;
  }
  return null;
}

/** A string a response may echo verbatim: well-formed, so it is exactly what the client sent. */
export function isWellFormedString(value: unknown): value is string {
  return typeof value === "string" && value.isWellFormed();
}

function pointer(path: string): string {
  // cut by code points, so the message never splits a surrogate pair
  return path === "" ? "the top level" : JSON.stringify(Array.from(path).slice(0, 200).join(""));
}

/** A property name as one JSON Pointer token (RFC 6901: `~` → `~0`, `/` → `~1`). */
export function escapeToken(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}
