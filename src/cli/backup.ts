/**
 * `causeway backup <dest>`: a consistent copy of a journal with SQLite's online backup API
 * (better-sqlite3 `db.backup()`), safe while a server is running and writing: the source is opened
 * read-only, pages are copied in steps, and the copy is one consistent snapshot (the server keeps
 * committing meanwhile). The copy's single-writer lease row is removed, so a server can start on
 * it at once (e.g. on another machine), and it is checked with `PRAGMA integrity_check`. The source
 * must be an existing causeway journal (a --db typo is refused, never created); a progress bar is
 * drawn on a terminal (src/cli/progress.ts).
 */
import { existsSync, rmSync } from "node:fs";
import type { Command } from "commander";
import { loadConfig, type ConfigFlags } from "../config/load.js";
import { describeFileError, errorMessage, FileProblem, requireJournalFile } from "./db-path.js";
import { progressBar, progressOptions, type ProgressFlags } from "./progress.js";

interface BackupFlags extends ProgressFlags {
  db?: string;
  config?: string;
  force?: boolean;
  json?: boolean;
}

export interface BackupReport {
  source: string;
  destination: string;
  pages: number;
  bytes: number;
  schemaVersion: number;
  lastSeq: number;
  integrity: string;
  durationMs: number;
}

/**
 * Back up the causeway journal `source` to `destination` (which must not exist); `onProgress`
 * hears the pages copied after each step.
 */
export async function backupJournal(source: string, destination: string, onProgress?: (copied: number, total: number) => void): Promise<BackupReport> {
  const [{ default: Database }, { assertReadableJournal }] = await Promise.all([import("better-sqlite3"), import("../journal/file-identity.js")]);
  const t0 = Date.now();
  const src = new Database(source, { readonly: true, fileMustExist: true });
  let pages = 0;
  try {
    src.pragma("busy_timeout = 5000");
    assertReadableJournal(src, source);
    const r = await src
      .backup(destination, {
        // copy in steps so a running server is never blocked for long
        progress: ({ totalPages, remainingPages }) => {
          pages = totalPages;
          onProgress?.(totalPages - remainingPages, totalPages);
          return 1000;
        },
      })
      .catch((err: unknown) => {
        // SQLite names neither file: a failure to write the copy is about the destination
        const writing = /SQLITE_(CANTOPEN|READONLY|PERM|FULL|IOERR)/.test(String((err as { code?: unknown }).code));
        throw writing ? new FileProblem(describeFileError(err, destination) ?? `cannot write ${destination}: ${String(err)}`) : err;
      });
    pages = r.totalPages;
  } finally {
    src.close();
  }
  const dst = new Database(destination, { fileMustExist: true });
  try {
    const hasLease = dst.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'lease'").get() !== undefined;
    if (hasLease) dst.prepare("DELETE FROM lease").run();
    const integrity = String(dst.pragma("integrity_check", { simple: true }));
    const schemaVersion = Number(dst.pragma("user_version", { simple: true }) ?? 0);
    const hasJournal = dst.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'journal'").get() !== undefined;
    const lastSeq = hasJournal ? Number((dst.prepare("SELECT COALESCE(MAX(seq), 0) AS s FROM journal").get() as { s: number }).s) : 0;
    const pageSize = Number(dst.pragma("page_size", { simple: true }));
    dst.pragma("wal_checkpoint(TRUNCATE)");
    return { source, destination, pages, bytes: pages * pageSize, schemaVersion, lastSeq, integrity, durationMs: Date.now() - t0 };
  } finally {
    dst.close();
  }
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
