/**
 * Where every check reports: per-invariant tallies, the first N violations, skip and
 * "unverifiable" counters.
 */
import { INVARIANTS, type ReplayInvariantName, type InvariantTally, type ReexecutionTally, type Violation } from "./types.js";

const EVIDENCE_TEXT_MAX = 2_000;

export class Findings {
  readonly invariants = Object.fromEntries(INVARIANTS.map((n) => [n, { checks: 0, violations: 0 }])) as Record<ReplayInvariantName, InvariantTally>;
  readonly violations: Violation[] = [];
  readonly unverifiable: Record<string, number> = {};
  readonly reexecution: ReexecutionTally = { reexecuted: 0, matched: 0, mismatched: 0, preconditionsReproduced: 0, skipped: {} };
  total = 0;

  constructor(private readonly maxViolations: number) {}

  check(invariant: ReplayInvariantName, n = 1): void {
    this.invariants[invariant].checks += n;
  }

  violation(v: Violation & { invariant: ReplayInvariantName }): void {
    this.invariants[v.invariant].violations++;
    this.total++;
    if (this.violations.length < this.maxViolations) this.violations.push({ ...v, evidence: clip(v.evidence) as Record<string, unknown> });
  }

  /** Shorthand: evaluate `ok`; report when false. */
  expect(ok: boolean, invariant: ReplayInvariantName, v: () => Omit<Violation, "invariant">): boolean {
    this.check(invariant);
    if (!ok) this.violation({ invariant, ...v() });
    return ok;
  }

  skip(reason: string): void {
    this.reexecution.skipped[reason] = (this.reexecution.skipped[reason] ?? 0) + 1;
  }

  cannotVerify(what: string): void {
    this.unverifiable[what] = (this.unverifiable[what] ?? 0) + 1;
  }

  get truncated(): boolean {
    return this.total > this.violations.length;
  }
}

/** Keep evidence readable: long JSON-ish values are cut. */
function clip(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return value.length > EVIDENCE_TEXT_MAX ? `${value.slice(0, EVIDENCE_TEXT_MAX)}… (${value.length} chars)` : value;
  if (value === null || typeof value !== "object") return value;
  const text = JSON.stringify(value);
  if (text === undefined) return value;
  if (text.length > EVIDENCE_TEXT_MAX && depth > 0) return `${text.slice(0, EVIDENCE_TEXT_MAX)}… (${text.length} chars of JSON)`;
  if (Array.isArray(value)) return value.map((v) => clip(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clip(v, depth + 1)]));
}

/** JSON text of a value, for byte-for-byte comparisons ("undefined" for undefined). */
export function jsonText(value: unknown): string {
  return value === undefined ? "undefined" : JSON.stringify(value);
}

/** A JSON column's text parsed, or the text itself when it is not JSON (evidence). */
export function jsonOrText(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
