/**
 * In-process, bounded journal audit: audit_journal.
 *
 * Runs the replay audit (src/audit) over a window of the committed journal: every invariant, and
 * re-execution of the deterministic built-in commands (user command types are counted as
 * `unregistered`). The window is bounded: maxRows defaults to 10,000 and is at most 100,000 rows.
 *
 * It must not stall the server: on a journal file it runs the same driver as
 * `causeway audit` on its own read-only connection, inside one read snapshot (WAL: the writer keeps
 * committing meanwhile), in slices of AUDIT_SLICE_ROWS rows that yield to the event loop between
 * them, so every other command keeps being served. Audits run one at a time (AuditQueue). Only an
 * in-memory journal (`--db :memory:`), which no other connection can open, is audited
 * synchronously on the server's own connection.
 */
import type { AuditOptions, AuditReport } from "../audit/index.js";
import { runAudit, runAuditSync } from "../audit/index.js";
import type { JournalQueries } from "../journal/types.js";
import { failure, success } from "../protocol/frames.js";
import type { Outcome } from "../protocol/types.js";
import { BUILTIN_COMMANDS } from "../commands/builtin/index.js";
import type { OperatorCommand } from "./operator-command.js";
import { CommandRegistry } from "../commands/registry.js";

export const AUDIT_DEFAULT_ROWS = 10_000;
export const AUDIT_MAX_ROWS = 100_000;
export const AUDIT_MAX_VIOLATIONS = 100;
/** rows checked between two yields to the event loop (a few ms of work) */
export const AUDIT_SLICE_ROWS = 256;

let builtins: CommandRegistry | null = null;

function builtinRegistry(): CommandRegistry {
  if (!builtins) {
    builtins = new CommandRegistry();
    for (const def of BUILTIN_COMMANDS) builtins.register(def);
  }
  return builtins;
}

export const AUDIT_COMMANDS: OperatorCommand[] = [
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
      // admitted before a shutdown began (new ones are refused at admission): it runs, and the drain
      // waits for it within shutdownGraceMs
      const opts: AuditOptions = {
        fromSeq: (env.fromSeq as number | undefined) ?? 0,
        maxRows: (env.maxRows as number | undefined) ?? AUDIT_DEFAULT_ROWS,
        maxViolations: AUDIT_MAX_VIOLATIONS,
        maxSessions: s.config.limits.maxSessions,
        ...(env.sessionId !== undefined ? { sessionId: env.sessionId } : {}),
      };
      if (s.store.kind === "memory") {
        try {
          const journal = s.store.openAuditReads();
          try {
            return answer(env.type, runAuditSync(journal, builtinRegistry(), opts));
          } finally {
            journal.close();
          }
        } catch (err) {
          return unreadable(env.type, err);
        }
      }
      const store = s.store;
      return s.audits.run(() => auditFile(store, opts)).then(
        (report) => answer(env.type, report),
        (err: unknown) => unreadable(env.type, err),
      );
    },
  },
];

/** The audit of a journal file on its own read-only connection, in slices (see the top). */
async function auditFile(store: JournalQueries, opts: AuditOptions): Promise<AuditReport> {
  const journal = store.openAuditReads();
  try {
    return await runAudit(journal, null, builtinRegistry(), { ...opts, pageSize: AUDIT_SLICE_ROWS });
  } finally {
    journal.close();
  }
}

function unreadable(type: string, err: unknown): Outcome {
  return failure(type, "journal_unavailable", `the journal could not be read: ${err instanceof Error ? err.message : String(err)}`);
}

function answer(type: string, report: AuditReport): Outcome {
  const violationCount = Object.values(report.invariants).reduce((n, t) => n + t.violations, 0);
  return success(type, {
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
}
