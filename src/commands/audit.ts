/**
 * In-process, bounded journal audit (issue #4): audit_journal.
 *
 * Runs the replay audit (src/audit) over a window of the committed journal on the server's own
 * connection: every invariant, and re-execution of the deterministic built-in commands (user
 * command types are counted as `unregistered`). It runs synchronously on the server thread — no
 * lane makes progress meanwhile — so the window is bounded: maxRows defaults to 10,000 and is at
 * most 100,000 rows. Audit a whole large journal offline with `causeway audit`.
 */
import { runAuditSync } from "../audit/run.js";
import { failure, success } from "../protocol/frames.js";
import { BUILTIN_COMMANDS } from "./builtin/index.js";
import type { ImmediateCommand } from "./immediate.js";
import { CommandRegistry } from "./registry.js";

export const AUDIT_DEFAULT_ROWS = 10_000;
export const AUDIT_MAX_ROWS = 100_000;
export const AUDIT_MAX_VIOLATIONS = 100;

let builtins: CommandRegistry | null = null;

function builtinRegistry(): CommandRegistry {
  if (!builtins) {
    builtins = new CommandRegistry();
    for (const def of BUILTIN_COMMANDS) builtins.register(def);
  }
  return builtins;
}

export const AUDIT_COMMANDS: ImmediateCommand[] = [
  {
    type: "audit_journal",
    sessionId: "optional",
    params: {
      type: "object",
      properties: {
        fromSeq: { type: "integer", minimum: 0 },
        maxRows: { type: "integer", minimum: 1, maximum: AUDIT_MAX_ROWS },
      },
    },
    handle({ env }, s) {
      const fromSeq = (env.fromSeq as number | undefined) ?? 0;
      const maxRows = (env.maxRows as number | undefined) ?? AUDIT_DEFAULT_ROWS;
      let report;
      try {
        report = runAuditSync(s.store.database(), builtinRegistry(), {
          fromSeq,
          maxRows,
          maxViolations: AUDIT_MAX_VIOLATIONS,
          maxSessions: s.config.limits.maxSessions,
          ...(env.sessionId !== undefined ? { sessionId: env.sessionId } : {}),
        });
      } catch (err) {
        return failure(env.type, "journal_unavailable", `the journal could not be read: ${err instanceof Error ? err.message : String(err)}`);
      }
      const violationCount = Object.values(report.invariants).reduce((n, t) => n + t.violations, 0);
      return success(env.type, {
        ok: report.ok,
        checkedRows: report.checkedRows,
        fromSeq: report.window.fromSeq,
        toSeq: report.window.toSeq,
        lastSeq: report.window.lastSeq,
        truncated: report.window.truncated,
        ...(report.window.truncated ? { nextFromSeq: report.window.toSeq } : {}),
        commands: report.commands,
        unfinished: report.unfinished,
        invariants: report.invariants,
        reexecution: report.reexecution,
        unverifiable: report.unverifiable,
        violationCount,
        violations: report.violations,
        violationsTruncated: report.violationsTruncated,
        durationMs: report.durationMs,
      });
    },
  },
];
