/**
 * Redaction: what the journal stores about a command never contains the values an operator names.
 *
 * Rules (config `redact`, env CAUSEWAY_REDACT, flag --redact): a map from a command type, or "*"
 * for every type, to a list of rule strings. A rule is one of
 *  - a JSON Pointer (RFC 6901) into the command's params, e.g. "/password", "/auth/token",
 *    "/items/0/secret". Params are the envelope minus its envelope fields, exactly what the
 *    `accepted` row stores;
 *  - "outcome:" + a JSON Pointer into the stored outcome, limited to "/data…" and "/error", e.g.
 *    "outcome:/data/token";
 *  - a bare property name (no "/"), e.g. "apiKey": that property, at any depth, in the params and
 *    in the outcome data.
 * A matched value (whatever its JSON type) is replaced by the string "[REDACTED]"; a rule that
 * matches nothing does nothing.
 *
 * Redacted: `params` (accepted rows) and `outcome.data` / `outcome.error` (finished, replayed and
 * conflict rows; the materialized `commands` row is derived from them). NOT redacted: the session
 * state in `effect` (that is the session's data: it must replay exactly), `detail` (recorded clock
 * and random values, recovery notes), ids, idempotency keys, and the fingerprint (computed by the
 * engine from the unredacted envelope before this hook, so replay and conflict detection keep
 * working).
 *
 * The redactor never mutates its input: the engine keeps using the original objects. It returns
 * the record itself when nothing matched, else a copy whose changed branches are copies.
 */
import { parseRedactRule, parseRedactRules, type RedactRules } from "../config/redaction-rules.js";
import type { NewRecord } from "./types.js";

/** The value that replaces every redacted value. */
export const REDACTED = "[REDACTED]";

interface CompiledRules {
  params: string[][];
  outcome: string[][];
  keys: Set<string>;
}

export type Redactor = (<R extends NewRecord>(record: R) => R) & {
  /** the rules this redactor applies */
  readonly rules: RedactRules;
  /** false when there are no rules (the redactor returns every record unchanged) */
  readonly active: boolean;
};

/** A redactor for the engine's persist hook (and for export). `rules` is validated here too. */
export function createRedactor(rules: RedactRules = {}): Redactor {
  const normalized = parseRedactRules(rules);
  const all = compile(normalized["*"] ?? []);
  const byType = new Map<string, CompiledRules>();
  for (const [type, list] of Object.entries(normalized)) {
    if (type === "*") continue;
    const own = compile(list);
    byType.set(type, { params: [...all.params, ...own.params], outcome: [...all.outcome, ...own.outcome], keys: new Set([...all.keys, ...own.keys]) });
  }
  const empty = all.params.length === 0 && all.outcome.length === 0 && all.keys.size === 0;
  const active = !empty || byType.size > 0;
  const redact = <R extends NewRecord>(record: R): R => {
    if (!active) return record;
    const c = byType.get(record.type) ?? all;
    let params = record.params;
    let outcome = record.outcome;
    if (params !== undefined && params !== null) {
      for (const p of c.params) params = redactAt(params, p, 0);
      if (c.keys.size > 0) params = redactKeys(params, c.keys);
    }
    if (outcome !== undefined && outcome !== null) {
      let o: unknown = outcome;
      for (const p of c.outcome) o = redactAt(o, p, 0);
      if (c.keys.size > 0 && isObject(o) && Object.hasOwn(o, "data")) {
        const data = (o as Record<string, unknown>).data;
        const redacted = redactKeys(data, c.keys);
        if (redacted !== data) o = withOwn(o as Record<string, unknown>, "data", redacted);
      }
      outcome = o as typeof outcome;
    }
    if (params === record.params && outcome === record.outcome) return record;
    const copy = { ...record };
    if (params !== record.params) copy.params = params;
    if (outcome !== record.outcome) copy.outcome = outcome;
    return copy;
  };
  return Object.assign(redact, { rules: normalized, active }) as Redactor;
}

function compile(list: string[]): CompiledRules {
  const c: CompiledRules = { params: [], outcome: [], keys: new Set() };
  for (const rule of list) {
    const r = parseRedactRule(rule);
    if (r.kind === "params") c.params.push(r.pointer);
    else if (r.kind === "outcome") c.outcome.push(r.pointer);
    else c.keys.add(r.key);
  }
  return c;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A shallow copy of `obj` with own property `key` set (never through a setter such as __proto__). */
function withOwn(obj: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const k of Object.keys(obj)) define(copy, k, k === key ? value : obj[k]);
  return copy;
}

function define(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** `value` with the node at `pointer` (from index i) replaced by REDACTED; `value` itself if absent. */
function redactAt(value: unknown, pointer: string[], i: number): unknown {
  if (i === pointer.length) return value === REDACTED ? value : REDACTED;
  const seg = pointer[i]!;
  if (Array.isArray(value)) {
    if (!/^(0|[1-9][0-9]*)$/.test(seg)) return value;
    const idx = Number(seg);
    if (idx >= value.length) return value;
    const next = redactAt(value[idx], pointer, i + 1);
    if (next === value[idx]) return value;
    const copy = [...value];
    copy[idx] = next;
    return copy;
  }
  if (isObject(value)) {
    if (!Object.hasOwn(value, seg)) return value;
    const next = redactAt(value[seg], pointer, i + 1);
    return next === value[seg] ? value : withOwn(value, seg, next);
  }
  return value;
}

/** `value` with every property named in `keys`, at any depth, replaced by REDACTED. */
function redactKeys(value: unknown, keys: Set<string>): unknown {
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const next = redactKeys(value[i], keys);
      if (next !== value[i]) (copy ??= [...value])[i] = next;
    }
    return copy ?? value;
  }
  if (isObject(value)) {
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value)) {
      const v = value[k];
      const next = keys.has(k) ? (v === REDACTED ? v : REDACTED) : redactKeys(v, keys);
      if (next !== v) changed = true;
      define(out, k, next);
    }
    return changed ? out : value;
  }
  return value;
}

/** True when `value` holds the REDACTED marker anywhere (a redacted params object, say). */
export function containsRedacted(value: unknown): boolean {
  if (value === REDACTED) return true;
  if (Array.isArray(value)) return value.some(containsRedacted);
  if (isObject(value)) return Object.values(value).some(containsRedacted);
  return false;
}
