/**
 * Store-specific invariants (types.ts STORE_INVARIANTS): a store contributes a check through
 * AuditOptions.storeChecks (the CLI wires the store's finder to the invariant's name); its findings
 * become the report's violations and tally, and its lines in the text report, here only.
 */
import { STORE_INVARIANTS, STORE_INVARIANT_DESCRIPTIONS, type AuditReport, type StoreCheck, type Violation } from "./types.js";

/** The report with each store check run and merged in: its tally (one check), its violations, ok. */
export function withStoreChecks(report: AuditReport, checks: readonly StoreCheck[]): AuditReport {
  let out = report;
  for (const check of checks) {
    const found = check.run();
    const violations: Violation[] = found.map(({ key, evidence, ...rest }) => ({ invariant: check.invariant, ...rest, evidence: key === undefined ? evidence : { key, ...evidence } }));
    out = {
      ...out,
      ok: out.ok && found.length === 0,
      invariants: { ...out.invariants, [check.invariant]: { checks: 1, violations: found.length } },
      violations: [...out.violations, ...violations],
    };
  }
  return out;
}

const LISTED = 100;

/** The store invariants' lines of the text report (none for a report without them), and their part of the result. */
export function storeCheckLines(r: AuditReport): { lines: string[]; violations: number; found: string[] } {
  const lines: string[] = [];
  const found: string[] = [];
  let violations = 0;
  for (const name of STORE_INVARIANTS) {
    const t = r.invariants[name];
    if (!t) continue;
    const d = STORE_INVARIANT_DESCRIPTIONS[name];
    lines.push(`${name.padEnd(28)}${String(t.checks).padStart(12)}${String(t.violations).padStart(12)}   (${d.short})`);
    const listed = r.violations.filter((v) => v.invariant === name);
    for (const v of listed.slice(0, LISTED)) lines.push(`  [${v.invariant}] ${v.message}`);
    if (t.violations > LISTED) lines.push(`  … and ${t.violations - LISTED} more (--json lists them all)`);
    violations += t.violations;
    if (t.violations > 0) found.push(`${t.violations} ${d.found}`);
  }
  return { lines, violations, found };
}
