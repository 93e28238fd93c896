/**
 * `causeway audit`: the replay audit of a journal file, read-only (safe next to a running server,
 * and on a copy after kill -9).
 *
 *   causeway audit [--db PATH | --store redis://…] [--session ID] [--commands paths...] [--json]
 *
 * On a Redis store (--store, or CAUSEWAY_STORE when no --db is given) the journal is read through a
 * read-only open and Redis's own materialized keys are audited too (audit-redis.ts).
 *
 * Exit codes: 0 no invariant violated; 2 violations found (listed); 1 the audit could not run
 * (no such file, not a causeway journal, a command module failed to load, bad arguments).
 *
 * The journal module (native SQLite) and the server module are imported inside the action, so
 * `causeway --help` stays light.
 */
import type { Command } from "commander";
import { INVARIANTS, STORE_INVARIANTS } from "../audit/types.js";
import { DEFAULT_CONFIG } from "../config/defaults.js";
import { errorMessage, requireJournalFile } from "./db-path.js";
import { openRedisAudit, type RedisAuditSource } from "./audit-redis.js";
import { progressBar, progressOptions, type ProgressFlags } from "./progress.js";

export const AUDIT_EXIT = { clean: 0, error: 1, violations: 2 } as const;

interface AuditCliOptions extends ProgressFlags {
  db: string;
  store?: string;
  session?: string;
  commands?: string[];
  json?: boolean;
}

export function registerAuditCommand(program: Command): void {
  const cmd = program
    .command("audit")
    .description("check a journal's invariants and re-execute its deterministic commands (read-only)")
    .option("--db <path>", "database file to audit", DEFAULT_CONFIG.db)
    .option("--store <url>", "audit the Redis journal at this redis:// URL (read-only), and its materialized keys")
    .option("--session <id>", "audit one session: its lane and the server lane (creates / deletes)")
    .option("--commands <paths...>", "command modules to load for re-execution (as for serve --commands)")
    .option("--json", "print the report as JSON on stdout")
    .showHelpAfterError()
    .addHelpText(
      "after",
      "\nExit codes: 0 no violation; 2 violations found; 1 the audit could not run.\n" +
        `Invariants: ${INVARIANTS.join(", ")};\n` +
        `on --store redis://… also ${STORE_INVARIANTS.join(", ")}. A progress bar is drawn on stderr when stderr is a terminal (--progress: always).`,
    );
  progressOptions(cmd).action(async (opts: AuditCliOptions) => {
    const store = opts.store ?? (cmd.getOptionValueSource("db") === "default" ? process.env.CAUSEWAY_STORE || undefined : undefined);
    process.exitCode = await audit(store !== undefined ? { ...opts, store } : opts);
  });
}

async function audit(opts: AuditCliOptions): Promise<number> {
  let journal: import("../journal/audit-reads.js").AuditReads | null = null;
  let redis: RedisAuditSource | null = null;
  const bar = await progressBar("audit", "rows", opts);
  try {
    if (opts.store === undefined) requireJournalFile(opts.db, "audit");
    const [{ openAuditDatabase, runAudit, formatReport }, { loadCommandModules }, { BUILTIN_COMMANDS }, { CommandRegistry }] = await Promise.all([
      import("../audit/index.js"),
      import("../server/start.js"),
      import("../commands/builtin/index.js"),
      import("../commands/registry.js"),
    ]);
    const registry = new CommandRegistry();
    for (const def of BUILTIN_COMMANDS) registry.register(def);
    await loadCommandModules(opts.commands ?? [], registry);
    if (opts.store !== undefined) redis = await openRedisAudit(opts.store);
    journal = redis?.journal ?? openAuditDatabase(opts.db);
    // counting the rows costs a pass over the journal: only for a bar that is drawn
    const onProgress = bar.active ? (done: number, total: number): void => bar.update(done, total) : undefined;
    const report = await runAudit(journal, redis?.where ?? opts.db, registry, {
      ...(opts.session !== undefined ? { sessionId: opts.session } : {}),
      ...(onProgress ? { onProgress } : {}),
      ...(redis ? { storeChecks: redis.storeChecks } : {}),
    });
    bar.stop();
    process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return report.ok ? AUDIT_EXIT.clean : AUDIT_EXIT.violations;
  } catch (err) {
    bar.stop();
    process.stderr.write(`causeway: audit failed: ${errorMessage(err, opts.store === undefined ? opts.db : undefined)}\n`);
    return AUDIT_EXIT.error;
  } finally {
    journal?.close();
    redis?.close();
  }
}
