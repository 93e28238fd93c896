/**
 * `causeway audit`: the replay audit of a journal file, read-only (safe next to a running server,
 * and on a copy after kill -9).
 *
 *   causeway audit [--db PATH] [--session ID] [--commands paths...] [--json]
 *
 * Exit codes: 0 no invariant violated; 2 violations found (listed); 1 the audit could not run
 * (no such file, not a causeway journal, a command module failed to load, bad arguments).
 *
 * The journal module (native SQLite) and the server module are imported inside the action, so
 * `causeway --help` stays light.
 */
import type { Command } from "commander";
import { DEFAULT_CONFIG } from "../config/defaults.js";
import { errorMessage, requireJournalFile } from "./db-path.js";
import { progressBar, progressOptions, type ProgressFlags } from "./progress.js";

export const AUDIT_EXIT = { clean: 0, error: 1, violations: 2 } as const;

interface AuditCliOptions extends ProgressFlags {
  db: string;
  session?: string;
  commands?: string[];
  json?: boolean;
}

export function registerAuditCommand(program: Command): void {
  const cmd = program
    .command("audit")
    .description("check a journal's invariants and re-execute its deterministic commands (read-only)")
    .option("--db <path>", "database file to audit", DEFAULT_CONFIG.db)
    .option("--session <id>", "audit one session: its lane and the server lane (creates / deletes)")
    .option("--commands <paths...>", "command modules to load for re-execution (as for serve --commands)")
    .option("--json", "print the report as JSON on stdout")
    .showHelpAfterError()
    .addHelpText(
      "after",
      "\nExit codes: 0 no violation; 2 violations found; 1 the audit could not run.\n" +
        "Invariants: lane_seq_gap_free, one_terminal_outcome, lifecycle_order, dependencies_before_start,\n" +
        "session_version_sequence, replay_consistency, timeout_never_started, materialized_tables,\n" +
        "deterministic_reexecution. A progress bar is drawn on stderr when stderr is a terminal (--progress: always).",
    );
  progressOptions(cmd).action(async (opts: AuditCliOptions) => {
    process.exitCode = await audit(opts);
  });
}

async function audit(opts: AuditCliOptions): Promise<number> {
  let journal: import("../journal/audit-reads.js").AuditReads | null = null;
  const bar = await progressBar("audit", "rows", opts);
  try {
    requireJournalFile(opts.db, "audit");
    const [{ openAuditDatabase, runAudit, formatReport }, { loadCommandModules }, { BUILTIN_COMMANDS }, { CommandRegistry }] = await Promise.all([
      import("../audit/index.js"),
      import("../server/start.js"),
      import("../commands/builtin/index.js"),
      import("../commands/registry.js"),
    ]);
    const registry = new CommandRegistry();
    for (const def of BUILTIN_COMMANDS) registry.register(def);
    await loadCommandModules(opts.commands ?? [], registry);
    journal = openAuditDatabase(opts.db);
    // counting the rows costs a pass over the journal: only for a bar that is drawn
    const onProgress = bar.active ? (done: number, total: number): void => bar.update(done, total) : undefined;
    const report = await runAudit(journal, opts.db, registry, { ...(opts.session !== undefined ? { sessionId: opts.session } : {}), ...(onProgress ? { onProgress } : {}) });
    bar.stop();
    process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return report.ok ? AUDIT_EXIT.clean : AUDIT_EXIT.violations;
  } catch (err) {
    bar.stop();
    process.stderr.write(`causeway: audit failed: ${errorMessage(err, opts.db)}\n`);
    return AUDIT_EXIT.error;
  } finally {
    journal?.close();
  }
}
