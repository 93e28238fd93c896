/**
 * A session state change as RFC 6902 operations, and the one way every layer applies one (issue
 * #17: writes cost what they change). Stored session states are shared structurally between
 * versions and never mutated: `applyOps` copies only the containers on the changed paths, and
 * every container it creates (and every value it stores) is frozen.
 *
 * - `diffStates(base, next)`: the operations that turn `base` into `next`, found by reference:
 *   `next` is the result of a copy-on-write draft of `base`, so an unchanged subtree is the same
 *   object and is not visited. An object whose surviving keys changed order (a key deleted and
 *   set again) is replaced whole, so the applied state has `next`'s key order (JSON.stringify's).
 * - `applyOps(base, ops)`: the state after the operations (add / remove / replace; a journal's
 *   patch rows hold only those) and its exact JSON size (UTF-8 bytes of JSON.stringify) computed
 *   from the change: `baseBytes` ± what each operation adds or removes.
 */

export type PatchOp = { op: "add" | "replace"; path: string; value: unknown } | { op: "remove"; path: string };

type Container = Record<string, unknown> | unknown[];

const isContainer = (v: unknown): v is Container => typeof v === "object" && v !== null;

/** UTF-8 bytes of JSON.stringify(v) (v a JSON value). */
export function jsonBytes(v: unknown): number {
  return Buffer.byteLength(JSON.stringify(v) ?? "null", "utf8");
}

/** Deep-freeze a JSON value (a fresh copy nobody else holds); returns it. */
export function deepFreeze<T>(v: T): T {
  if (!isContainer(v) || Object.isFrozen(v)) return v;
  for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  return Object.freeze(v);
}

const escape = (s: string): string => s.replaceAll("~", "~0").replaceAll("/", "~1");
const unescape = (s: string): string => s.replaceAll("~1", "/").replaceAll("~0", "~");

/** JSON Pointer (RFC 6901) of path segments. */
export function toPointer(segments: readonly (string | number)[]): string {
  let p = "";
  for (const s of segments) p += "/" + escape(String(s));
  return p;
}

export function fromPointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw new Error(`not a JSON Pointer: ${JSON.stringify(path)}`);
  return path.slice(1).split("/").map(unescape);
}

/** The operations turning `base` into `next` (see the file comment). */
export function diffStates(base: unknown, next: unknown): PatchOp[] {
  const ops: PatchOp[] = [];
  diffAt(base, next, [], ops);
  return ops;
}

function diffAt(a: unknown, b: unknown, path: (string | number)[], ops: PatchOp[]): void {
  if (a === b) return;
  if (!isContainer(a) || !isContainer(b) || Array.isArray(a) !== Array.isArray(b)) {
    ops.push({ op: "replace", path: toPointer(path), value: b });
    return;
  }
  if (Array.isArray(a)) diffArray(a, b as unknown[], path, ops);
  else diffObject(a, b as Record<string, unknown>, path, ops);
}

function diffArray(a: unknown[], b: unknown[], path: (string | number)[], ops: PatchOp[]): void {
  const common = Math.min(a.length, b.length);
  for (let i = 0; i < common; i++) {
    if (a[i] !== b[i]) diffAt(a[i], b[i], [...path, i], ops);
  }
  for (let i = common; i < b.length; i++) ops.push({ op: "add", path: toPointer([...path, i]), value: b[i] });
  for (let i = a.length - 1; i >= common; i--) ops.push({ op: "remove", path: toPointer([...path, i]) });
}

function diffObject(a: Record<string, unknown>, b: Record<string, unknown>, path: (string | number)[], ops: PatchOp[]): void {
  const bKeys = Object.keys(b).filter((k) => b[k] !== undefined);
  if (!sameOrder(a, b, bKeys)) {
    ops.push({ op: "replace", path: toPointer(path), value: b });
    return;
  }
  for (const k of Object.keys(a)) {
    if (a[k] === undefined) continue;
    if (!Object.hasOwn(b, k) || b[k] === undefined) ops.push({ op: "remove", path: toPointer([...path, k]) });
    else if (a[k] !== b[k]) diffAt(a[k], b[k], [...path, k], ops);
  }
  for (const k of bKeys) if (!Object.hasOwn(a, k) || a[k] === undefined) ops.push({ op: "add", path: toPointer([...path, k]), value: b[k] });
}

/** Applying removes and appends to `a` gives `b`'s key order: the kept keys in a's order, then the new ones. */
function sameOrder(a: Record<string, unknown>, b: Record<string, unknown>, bKeys: string[]): boolean {
  const applied = Object.keys(a).filter((k) => a[k] !== undefined && b[k] !== undefined);
  const added = bKeys.filter((k) => !Object.hasOwn(a, k) || a[k] === undefined);
  // JS orders integer-like keys first: build the object the ops would build and compare its order
  if (added.length > 0) {
    const probe: Record<string, true> = {};
    for (const k of applied) probe[k] = true;
    for (const k of added) probe[k] = true;
    return sameKeys(Object.keys(probe), bKeys);
  }
  return sameKeys(applied, bKeys);
}

function sameKeys(x: string[], y: string[]): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

export interface Applied {
  state: unknown;
  /** JSON size of `state` (when `baseBytes` was given), else NaN */
  bytes: number;
}

/**
 * The state after `ops` (each value a JSON value nobody else holds: it is frozen and kept), with
 * new containers only on the changed paths. Throws on an operation that does not apply.
 */
export function applyOps(base: unknown, ops: readonly PatchOp[], baseBytes = Number.NaN): Applied {
  let root = base;
  let bytes = baseBytes;
  for (const op of ops) {
    const segs = fromPointer(op.path);
    if (segs.length === 0) {
      if (op.op === "remove") throw new Error("cannot remove the whole state");
      root = deepFreeze(op.value);
      bytes = Number.isNaN(baseBytes) ? Number.NaN : jsonBytes(root);
      continue;
    }
    const r = applyAt(root, segs, 0, op);
    root = r.value;
    bytes += r.delta;
  }
  return { state: root, bytes };
}

interface Step {
  value: unknown;
  delta: number;
}

function applyAt(node: unknown, segs: string[], i: number, op: PatchOp): Step {
  if (!isContainer(node)) throw new Error(`${op.op} ${op.path}: ${toPointer(segs.slice(0, i))} is not an object or array`);
  const key = segs[i]!;
  if (i < segs.length - 1) {
    const child = Array.isArray(node) ? node[arrayIndex(node, key, op, false)] : Object.hasOwn(node, key) ? node[key] : undefined;
    if (child === undefined) throw new Error(`${op.op} ${op.path}: ${toPointer(segs.slice(0, i + 1))} does not exist`);
    const r = applyAt(child, segs, i + 1, op);
    return { value: withChild(node, key, r.value), delta: r.delta };
  }
  return Array.isArray(node) ? applyArray(node, key, op) : applyObject(node, key, op);
}

function withChild(node: Container, key: string, value: unknown): unknown {
  if (Array.isArray(node)) {
    const copy = node.slice();
    copy[Number(key)] = value;
    return Object.freeze(copy);
  }
  return Object.freeze({ ...node, [key]: value });
}

function arrayIndex(node: unknown[], key: string, op: PatchOp, adding: boolean): number {
  if (adding && key === "-") return node.length;
  if (!/^(0|[1-9][0-9]*)$/.test(key)) throw new Error(`${op.op} ${op.path}: ${JSON.stringify(key)} is not an array index`);
  const n = Number(key);
  if (n > node.length || (!adding && n === node.length)) throw new Error(`${op.op} ${op.path}: index ${n} is out of bounds (length ${node.length})`);
  return n;
}

function applyArray(node: unknown[], key: string, op: PatchOp): Step {
  const copy = node.slice();
  const n = arrayIndex(node, key, op, op.op === "add");
  const comma = node.length > 0 ? 1 : 0;
  if (op.op === "add") {
    const v = deepFreeze(op.value);
    copy.splice(n, 0, v);
    return { value: Object.freeze(copy), delta: jsonBytes(v) + comma };
  }
  const old = node[n];
  if (op.op === "remove") {
    copy.splice(n, 1);
    return { value: Object.freeze(copy), delta: -jsonBytes(old) - (node.length > 1 ? 1 : 0) };
  }
  const v = deepFreeze(op.value);
  copy[n] = v;
  return { value: Object.freeze(copy), delta: jsonBytes(v) - jsonBytes(old) };
}

function applyObject(node: Record<string, unknown>, key: string, op: PatchOp): Step {
  const had = Object.hasOwn(node, key) && node[key] !== undefined;
  const members = Object.keys(node).filter((k) => node[k] !== undefined).length;
  const member = (v: unknown): number => jsonBytes(key) + 1 + jsonBytes(v);
  if (op.op === "remove") {
    if (!had) throw new Error(`remove ${op.path}: no such member`);
    const copy = { ...node };
    delete copy[key];
    return { value: Object.freeze(copy), delta: -member(node[key]) - (members > 1 ? 1 : 0) };
  }
  if (op.op === "replace" && !had) throw new Error(`replace ${op.path}: no such member`);
  const v = deepFreeze(op.value);
  const copy = { ...node, [key]: v };
  const delta = had ? jsonBytes(v) - jsonBytes(node[key]) : member(v) + (members > 0 ? 1 : 0);
  return { value: Object.freeze(copy), delta };
}

/** JSON size of a list of operations as the journal stores them. */
export function opsBytes(ops: readonly PatchOp[]): number {
  return jsonBytes(ops);
}
