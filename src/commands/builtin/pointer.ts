/**
 * JSON Pointers (RFC 6901) in session state, for `set` and `patch`:
 * - the one rule on banned segments: `__proto__`, `constructor` and `prototype` are refused in any
 *   path of either command (they would reach into, or look up, an object's prototype);
 * - existence by own properties only (`hasPointer`): an inherited name such as `constructor` or
 *   `toString` is not a member of a JSON object;
 * - `set` semantics: replace the value at `path`, creating missing intermediate containers (an
 *   array when the next segment is "-", else an object). "" replaces the whole document. Array
 *   segments accept an index or "-".
 */
import { CausewayError } from "../../protocol/errors.js";

export function parsePointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw new CausewayError("invalid_command", `path ${JSON.stringify(path)} is not a JSON Pointer (must start with "/")`);
  return path
    .slice(1)
    .split("/")
    .map(unescapeSegment);
}

function unescapeSegment(s: string): string {
  return s.replace(/~1/g, "/").replace(/~0/g, "~");
}

const BANNED = new Set(["__proto__", "constructor", "prototype"]);

/** THE rule: whether a path segment (unescaped) may not appear in a `set` or `patch` path. */
export function isBannedSegment(segment: string): boolean {
  return BANNED.has(segment);
}

/** Throws `invalid_command` if a segment of `path` is banned; `op` names the operation, e.g. `patch op 2 (add)`. */
export function refuseBannedPath(path: string, op: string): void {
  for (const raw of path.split("/")) {
    const seg = unescapeSegment(raw);
    if (isBannedSegment(seg)) {
      throw new CausewayError("invalid_command", `${op} at ${JSON.stringify(path)}: path segment ${JSON.stringify(seg)} is not allowed (__proto__, constructor and prototype are banned in set and patch paths)`);
    }
  }
}

/** Whether `path` names an existing member of `doc`, by own properties and in-range array indexes. */
export function hasPointer(doc: unknown, path: string): boolean {
  let node = doc;
  for (const seg of parsePointer(path)) {
    if (Array.isArray(node)) {
      if (!/^(0|[1-9][0-9]*)$/.test(seg) || Number(seg) >= node.length) return false;
      node = node[Number(seg)];
    } else if (isContainer(node) && Object.prototype.hasOwnProperty.call(node, seg)) {
      node = (node as Record<string, unknown>)[seg];
    } else {
      return false;
    }
  }
  return true;
}

export function setAtPointer(doc: unknown, path: string, value: unknown): unknown {
  refuseBannedPath(path, "set");
  const segments = parsePointer(path);
  if (segments.length === 0) return value;
  const root: unknown = isContainer(doc) ? doc : {};
  let node = root as Record<string, unknown> | unknown[];
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const last = i === segments.length - 1;
    if (Array.isArray(node)) {
      const idx = seg === "-" ? node.length : arrayIndex(seg, path);
      if (idx > node.length) throw new CausewayError("invalid_command", `index ${idx} is out of bounds at ${path}`);
      if (last) {
        node[idx] = value;
        return root;
      }
      if (!isContainer(node[idx])) node[idx] = container(segments[i + 1]!);
      node = node[idx] as Record<string, unknown> | unknown[];
    } else {
      if (last) {
        node[seg] = value;
        return root;
      }
      if (!isContainer(node[seg])) node[seg] = container(segments[i + 1]!);
      node = node[seg] as Record<string, unknown> | unknown[];
    }
  }
  return root;
}

/** A missing intermediate becomes an array when the next segment appends ("-"), else an object. */
function container(next: string): Record<string, unknown> | unknown[] {
  return next === "-" ? [] : {};
}

function arrayIndex(seg: string, path: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(seg)) throw new CausewayError("invalid_command", `segment ${JSON.stringify(seg)} of ${path} is not an array index`);
  return Number(seg);
}

function isContainer(v: unknown): v is Record<string, unknown> | unknown[] {
  return typeof v === "object" && v !== null;
}
