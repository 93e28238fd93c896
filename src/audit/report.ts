/** The human-readable audit report (the CLI's default output; --json prints the AuditReport). */
import { storeCheckLines } from "./store-checks.js";
import { INVARIANTS, type AuditReport } from "./types.js";

const REPLAY = new Set<string>(INVARIANTS);

export function formatReport(r: AuditReport): string {
  const lines: string[] = [];
  const w = r.window;
  lines.push(`causeway audit${r.database ? `: ${r.database}` : ""}`);
  const scope = [w.complete ? "whole retained journal" : w.sessionId ? `session ${w.sessionId} (its lane + the server lane)` : "window"];
  if (w.firstRetainedSeq > 1) scope.push(`journal compacted up to seq ${w.firstRetainedSeq - 1}`);
  if (w.truncated) scope.push(`truncated: the journal continues to seq ${w.lastSeq}`);
  lines.push(`scope:   seq ${w.fromSeq + 1}..${w.toSeq} of ${w.lastSeq} — ${scope.join("; ")}`);
  const lag = w.projectionCaughtUp;
  if (lag) lines.push(`note:    the derived tables stopped at seq ${lag.fromSeq - 1} (not flushed before the process ended); rows ${lag.fromSeq}..${lag.toSeq} were materialized from the journal for this audit, as a restart does`);
  lines.push(`read:    ${r.checkedRows} rows, ${r.commands} admitted commands, ${r.unfinished.count} unfinished, ${r.durationMs} ms`);
  if (r.unfinished.count > 0) lines.push(`         unfinished (in flight or awaiting restart recovery): ${r.unfinished.ids.slice(0, 10).join(", ")}${r.unfinished.count > 10 ? ", …" : ""}`);
  lines.push("");
  lines.push(`${"invariant".padEnd(28)}${"checks".padStart(12)}${"violations".padStart(12)}`);
  for (const name of INVARIANTS) {
    const t = r.invariants[name];
    lines.push(`${name.padEnd(28)}${String(t.checks).padStart(12)}${String(t.violations).padStart(12)}`);
  }
  const x = r.reexecution;
  lines.push("");
  lines.push(`re-execution: ${x.reexecuted} re-run, ${x.matched} matched, ${x.mismatched} differed, ${x.preconditionsReproduced} precondition decisions reproduced`);
  const skipped = Object.entries(x.skipped).sort((a, b) => b[1] - a[1]);
  if (skipped.length > 0) lines.push(`  not re-run: ${skipped.map(([k, n]) => `${k} ${n}`).join(", ")}`);
  const unverifiable = Object.entries(r.unverifiable);
  if (unverifiable.length > 0) lines.push(`  could not verify: ${unverifiable.map(([k, n]) => `${k} ${n}`).join(", ")}`);
  const total = INVARIANTS.reduce((n, name) => n + r.invariants[name].violations, 0);
  if (total > 0) {
    lines.push("");
    lines.push(`violations (${total}${r.violationsTruncated ? `, first ${r.violations.length} listed` : ""}):`);
    for (const v of r.violations.filter((x) => REPLAY.has(x.invariant))) {
      const where = [v.seq !== undefined ? `seq ${v.seq}` : null, v.commandId ? `command ${v.commandId}` : null, v.sessionId ? `session ${v.sessionId}` : null].filter(Boolean).join(", ");
      lines.push(`  [${v.invariant}]${where ? ` ${where}:` : ""} ${v.message}`);
      lines.push(`      evidence: ${JSON.stringify(v.evidence)}`);
    }
  }
  lines.push("");
  // a store's own invariants (store-checks.ts), listed only on its journals
  const store = storeCheckLines(r);
  if (store.lines.length > 0) lines.push(...store.lines, "");
  const failed = [total > 0 ? `${total} violation${total === 1 ? "" : "s"}` : null, ...store.found].filter((x) => x !== null);
  lines.push(r.ok ? "result: OK — no invariant violated" : `result: FAILED — ${failed.length > 0 ? failed.join("; and ") : `${total} violations`}`);
  return lines.join("\n") + "\n";
}
