/**
 * `causeway backup <dest>`: a consistent copy of a journal with SQLite's online backup API
 * (src/journal/backup.ts), safe while a server is running and writing: the copy is one consistent
 * snapshot, has no single-writer lease row (a server can start on it at once, e.g. on another
 * machine) and is checked with `PRAGMA integrity_check`. The source must be an existing causeway
 * journal (a --db typo is refused, never created); a progress bar is drawn on a terminal
 * (src/cli/progress.ts).
 */
import { existsSync, rmSync } from "node:fs";
import type { Command } from "commander";
import type { BackupReport } from "../journal/backup.js";
import { loadConfig, type ConfigFlags } from "../config/load.js";
import { describeFileError, errorMessage, FileProblem, requireJournalFile } from "./db-path.js";
import { progressBar, progressOptions, type ProgressFlags } from "./progress.js";

interface BackupFlags extends ProgressFlags {
  db?: string;
  config?: string;
  force?: boolean;
  json?: boolean;
}

/**
 * Back up the causeway journal `source` to `destination` (src/journal/backup.ts); a failure to
 * write the copy is reported as a problem of the destination file.
 */
export async function backupJournal(source: string, destination: string, onProgress?: (copied: number, total: number) => void): Promise<BackupReport> {
  const { backupJournal: backup, BackupDestinationError } = await import("../journal/backup.js");
  return backup(source, destination, onProgress).catch((err: unknown) => {
    if (!(err instanceof BackupDestinationError)) throw err;
    throw new FileProblem(describeFileError(err.cause, destination) ?? `cannot write ${destination}: ${String(err.cause)}`);
  });
}

async function runBackup(dest: string, opts: BackupFlags): Promise<void> {
  let created = false;
  let source: string | undefined;
  const bar = await progressBar("backup", "pages", opts);
  try {
    const flags: ConfigFlags = {};
    if (opts.db !== undefined) flags.db = opts.db;
    const config = loadConfig({ flags, env: process.env, configFile: opts.config });
    source = config.db;
    requireJournalFile(config.db, "backup");
    if (existsSync(dest)) {
      if (!opts.force) throw new Error(`${dest} exists (use --force to replace it)`);
      for (const f of [dest, `${dest}-wal`, `${dest}-shm`]) rmSync(f, { force: true });
    }
    created = true;
    const r = await backupJournal(config.db, dest, (copied, total) => bar.update(copied, total));
    bar.update(r.pages, r.pages);
    bar.stop();
    if (r.integrity !== "ok") {
      const problems = r.integrity.split("\n").filter((l) => !l.startsWith("***"));
      throw new FileProblem(
        `${config.db} is malformed (the copy failed PRAGMA integrity_check: ${problems[0] ?? r.integrity}${problems.length > 1 ? ` and ${problems.length - 1} more` : ""}): ` +
          "restore it from an earlier `causeway backup` copy",
      );
    }
    process.stdout.write(
      opts.json ? JSON.stringify(r) + "\n" : `backed up ${config.db} to ${dest}: ${r.pages} pages (${r.bytes} bytes), schema v${r.schemaVersion}, last seq ${r.lastSeq}, integrity ok, ${r.durationMs} ms\n`,
    );
  } catch (err) {
    bar.stop();
    if (created) for (const f of [dest, `${dest}-wal`, `${dest}-shm`]) rmSync(f, { force: true });
    process.stderr.write(`causeway: ${errorMessage(err, source)}\n`);
    process.exitCode = 1;
  }
}

export function registerBackupCommand(program: Command): void {
  const cmd = program
    .command("backup")
    .description("copy a journal with SQLite's online backup API: consistent, and safe while the server runs")
    .argument("<dest>", "the copy's path (must not exist unless --force)")
    .option("--db <path>", "journal to copy (default: the configured db, data/causeway.db)")
    .option("--config <file>", "config file whose db applies (env CAUSEWAY_CONFIG)")
    .option("--force", "replace an existing destination")
    .option("--json", "print the report as JSON")
    .showHelpAfterError()
    .addHelpText("after", "\nThe copy has no writer lease: a server can start on it at once.\nExit codes: 0 copied and verified; 1 failed (nothing is left at <dest>).");
  progressOptions(cmd).action((dest: string, opts: BackupFlags) => runBackup(dest, opts));
}
