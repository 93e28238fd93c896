/**
 * Compare what a doc example shows with what the server printed.
 *
 * Both sides are normalised the same way before comparing: ISO-8601 times and epoch-ms numbers
 * become `<time>`, UUIDs `<uuid>`, 64-hex digests `<hex>`, durations (`9.5s`, `120ms`, `3m20s`,
 * and the values of duration keys such as `uptimeMs`) `<duration>`. A line whose doc side is JSON
 * is compared structurally with the printed JSON (key order and spacing do not matter, every key
 * and value does), with the elisions of pattern.ts; any other line is compared as text with runs of
 * spaces collapsed, `…` matching any run of characters. A doc line that is just `…` matches any
 * number of printed lines.
 */
import { ELLIPSIS, parsePattern, type Pattern } from "./pattern.js";

const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const HEX64 = /\b[0-9a-f]{64}\b/g;
const EPOCH_MS = /\b1[5-9]\d{11}\b/g;
const DURATION = /\b\d+(?:\.\d+)? ?ms\b|\b\d+(?:\.\d+)?s\b|\b\d+m\d+s\b|\b\d+h\d+m\b/g;
/** keys whose numeric values are durations or ages, never the same twice */
const DURATION_KEYS = new Set(["uptimeMs", "durationMs", "queueWaitMs", "oldestQueuedAgeMs", "ageMs", "runningForMs"]);

const isEpochMs = (n: number): boolean => Number.isInteger(n) && n >= 1_500_000_000_000 && n < 2_000_000_000_000;

export function normaliseText(s: string): string {
  return s.replace(ISO, "<time>").replace(UUID, "<uuid>").replace(HEX64, "<hex>").replace(EPOCH_MS, "<time>").replace(DURATION, "<duration>");
}

function normaliseLiteral(v: unknown, key: string | undefined): unknown {
  if (typeof v !== "number") return v;
  if (key !== undefined && DURATION_KEYS.has(key)) return "<duration>";
  return isEpochMs(v) ? "<time>" : v;
}

function globMatch(pattern: string, actual: string): boolean {
  const a = normaliseText(actual);
  if (!pattern.includes(ELLIPSIS)) return normaliseText(pattern) === a;
  const parts = pattern.split(ELLIPSIS).map((p) => normaliseText(p).replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${parts.join("[\\s\\S]*")}$`).test(a);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export function matchPattern(p: Pattern, actual: unknown, key?: string): boolean {
  switch (p.k) {
    case "any":
      return true;
    case "str":
      return typeof actual === "string" && globMatch(p.text, actual);
    case "lit":
      return (typeof actual === "number" || actual === null || typeof actual === "boolean") && normaliseLiteral(p.value, key) === normaliseLiteral(actual, key);
    case "arr":
      if (!Array.isArray(actual)) return false;
      if (p.open ? actual.length < p.items.length : actual.length !== p.items.length) return false;
      return p.items.every((item, i) => matchPattern(item, actual[i], key));
    case "obj": {
      if (!isPlainObject(actual)) return false;
      const keys = Object.keys(actual);
      if (!p.open && keys.length !== p.entries.length) return false;
      return p.entries.every(([k, v]) => Object.hasOwn(actual, k) && matchPattern(v, actual[k], k));
    }
  }
}

const looksLikeJson = (s: string): boolean => /^\s*[[{]/.test(s);

function tryJson(s: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(s) as unknown };
  } catch {
    return { ok: false };
  }
}

const collapse = (s: string): string => s.replace(/[ \t]+/g, " ").trimEnd();

/** One doc line against one printed line. */
export function lineMatches(doc: string, actual: string): boolean {
  if (looksLikeJson(doc)) {
    let pattern: Pattern | undefined;
    try {
      pattern = parsePattern(doc);
    } catch {
      pattern = undefined; // not JSON after all (a table row starting with "["?): compare as text
    }
    if (pattern) {
      const parsed = tryJson(actual);
      return parsed.ok && matchPattern(pattern, parsed.value);
    }
  }
  return globMatch(collapse(doc), collapse(actual));
}

export const isElisionLine = (line: string): boolean => line.trim() === ELLIPSIS;

/** Doc lines (with `…` lines matching any number of printed lines) against printed lines. */
export function linesMatch(doc: readonly string[], actual: readonly string[]): boolean {
  const memo = new Map<number, boolean>();
  const go = (i: number, j: number): boolean => {
    const k = i * (actual.length + 1) + j;
    const hit = memo.get(k);
    if (hit !== undefined) return hit;
    let r: boolean;
    if (i === doc.length) r = j === actual.length;
    else if (isElisionLine(doc[i]!)) r = go(i + 1, j) || (j < actual.length && go(i, j + 1));
    else r = j < actual.length && lineMatches(doc[i]!, actual[j]!) && go(i + 1, j + 1);
    memo.set(k, r);
    return r;
  };
  return go(0, 0);
}

/** A readable difference for a failure message. */
export function describeMismatch(doc: readonly string[], actual: readonly string[]): string {
  const out: string[] = [];
  const n = Math.max(doc.length, actual.length);
  for (let i = 0; i < n; i++) {
    const d = doc[i];
    const a = actual[i];
    if (d !== undefined && a !== undefined && (isElisionLine(d) || lineMatches(d, a))) out.push(`  ${a}`);
    else {
      if (d !== undefined) out.push(`- ${d}`);
      if (a !== undefined) out.push(`+ ${a}`);
    }
  }
  return out.join("\n");
}
