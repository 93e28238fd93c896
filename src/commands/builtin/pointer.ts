/**
 * `set` semantics for a JSON Pointer (RFC 6901): replace the value at `path`, creating missing
 * intermediate containers (an array when the next segment is "-", else an object). "" replaces the whole document. Array segments accept an index or "-".
 */
import { CausewayError } from "../../protocol/errors.js";

export function parsePointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw new CausewayError("invalid_command", `path ${JSON.stringify(path)} is not a JSON Pointer (must start with "/")`);
  return path
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

const FORBIDDEN = new Set(["__proto__", "constructor", "prototype"]);

export function setAtPointer(doc: unknown, path: string, value: unknown): unknown {
  const segments = parsePointer(path);
  if (segments.length === 0) return value;
  const root: unknown = isContainer(doc) ? doc : {};
  let node = root as Record<string, unknown> | unknown[];
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if (FORBIDDEN.has(seg)) throw new CausewayError("invalid_command", `path segment ${JSON.stringify(seg)} is not allowed`);
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
