/**
 * The reference model's own JSON helpers: canonical text (sorted keys) for equality, and the
 * document semantics of `set` (JSON Pointer, RFC 6901) and `patch` (RFC 6902) as PROTOCOL.md
 * describes them. Written from the spec, independent of the server's implementation.
 */
export type J = null | boolean | number | string | J[] | { [k: string]: J };

export function canon(v: unknown): string {
  if (v === undefined) return "undefined";
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canon).join(",")}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canon(o[k])}`)
    .join(",")}}`;
}

export const equal = (a: unknown, b: unknown): boolean => canon(a) === canon(b);

export function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/** A failure of a document operation, with the protocol code it maps to. */
export class DocError extends Error {
  constructor(readonly code: "invalid_command" | "patch_failed", message: string) {
    super(message);
  }
}

function segments(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw new DocError("invalid_command", `not a pointer: ${path}`);
  return path
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

const isObj = (v: unknown): v is Record<string, J> => typeof v === "object" && v !== null && !Array.isArray(v);
const isContainer = (v: unknown): v is Record<string, J> | J[] => typeof v === "object" && v !== null;
const INDEX = /^(0|[1-9][0-9]*)$/;

/**
 * `set`: replace the value at `path` ("" = the whole document); missing (or non-container)
 * intermediates become containers: an array when the next segment is "-", else an object.
 */
export function setAt(doc: J, path: string, value: J): J {
  const segs = segments(path);
  if (segs.length === 0) return value;
  const root: J = isContainer(doc) ? doc : {};
  let node = root as Record<string, J> | J[];
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    if (seg === "__proto__" || seg === "constructor" || seg === "prototype") throw new DocError("invalid_command", "forbidden segment");
    const last = i === segs.length - 1;
    if (Array.isArray(node)) {
      if (seg !== "-" && !INDEX.test(seg)) throw new DocError("invalid_command", "not an index");
      const idx = seg === "-" ? node.length : Number(seg);
      if (idx > node.length) throw new DocError("invalid_command", "index out of bounds");
      if (last) {
        node[idx] = value;
        return root;
      }
      if (!isContainer(node[idx])) node[idx] = segs[i + 1] === "-" ? [] : {};
      node = node[idx] as Record<string, J> | J[];
    } else {
      if (last) {
        node[seg] = value;
        return root;
      }
      if (!isContainer(node[seg])) node[seg] = segs[i + 1] === "-" ? [] : {};
      node = node[seg] as Record<string, J> | J[];
    }
  }
  return root;
}

export interface PatchOp {
  op: "add" | "remove" | "replace" | "test";
  path: string;
  value?: J;
}

/** RFC 6902 (the ops the generator uses), atomic: any failing op throws and the input is untouched. */
export function applyPatch(doc: J, ops: PatchOp[]): J {
  let d = clone(doc);
  const fail = (i: number, why: string): never => {
    throw new DocError("patch_failed", `op ${i}: ${why}`);
  };
  ops.forEach((op, i) => {
    const segs = segments(op.path);
    if (segs.length === 0) {
      if (op.op === "test") return equal(d, op.value) ? undefined : fail(i, "test failed");
      if (op.op === "remove") return fail(i, "cannot remove the root");
      d = clone(op.value as J);
      return;
    }
    let parent: J = d;
    for (const s of segs.slice(0, -1)) {
      if (Array.isArray(parent)) {
        if (!INDEX.test(s) || Number(s) >= parent.length) fail(i, "path unresolvable");
        parent = parent[Number(s)]!;
      } else if (isObj(parent)) {
        if (!Object.prototype.hasOwnProperty.call(parent, s)) fail(i, "path unresolvable");
        parent = parent[s]!;
      } else fail(i, "path unresolvable");
    }
    const key = segs[segs.length - 1]!;
    if (Array.isArray(parent)) {
      if (op.op === "add") {
        const idx = key === "-" ? parent.length : INDEX.test(key) ? Number(key) : fail(i, "bad index");
        if (idx > parent.length) fail(i, "index out of bounds");
        parent.splice(idx, 0, clone(op.value as J));
        return;
      }
      if (!INDEX.test(key) || Number(key) >= parent.length) fail(i, "path unresolvable");
      const idx = Number(key);
      if (op.op === "remove") parent.splice(idx, 1);
      else if (op.op === "replace") parent[idx] = clone(op.value as J);
      else if (!equal(parent[idx], op.value)) fail(i, "test failed");
      return;
    }
    if (!isObj(parent)) fail(i, "path unresolvable");
    const obj = parent as Record<string, J>;
    const has = Object.prototype.hasOwnProperty.call(obj, key);
    if (op.op === "add") obj[key] = clone(op.value as J);
    else if (!has) fail(i, "path unresolvable");
    else if (op.op === "remove") delete obj[key];
    else if (op.op === "replace") obj[key] = clone(op.value as J);
    else if (!equal(obj[key], op.value)) fail(i, "test failed");
  });
  return d;
}
