/**
 * A consistent copy of a journal file with SQLite's online backup API (better-sqlite3
 * `db.backup()`), safe while a server is running and writing: the source is opened read-only,
 * pages are copied in steps, and the copy is one consistent snapshot (the server keeps committing
 * meanwhile). The copy's single-writer lease row is removed, so a server can start on it at once,
 * and it is checked with `PRAGMA integrity_check`. src/cli/backup.ts is the command around it.
 */
import Database from "better-sqlite3";
import { assertReadableJournal } from "./file-identity.js";

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

/** Writing the copy failed (SQLite names neither file: this one is about the destination); `cause` is SQLite's error. */
export class BackupDestinationError extends Error {
  override readonly cause: unknown;
  constructor(cause: unknown) {
    super(String(cause));
    this.name = "BackupDestinationError";
    this.cause = cause;
  }
}

/**
 * Back up the causeway journal `source` to `destination` (which must not exist); `onProgress`
 * hears the pages copied after each step.
 */
export async function backupJournal(source: string, destination: string, onProgress?: (copied: number, total: number) => void): Promise<BackupReport> {
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
        const writing = /SQLITE_(CANTOPEN|READONLY|PERM|FULL|IOERR)/.test(String((err as { code?: unknown }).code));
        throw writing ? new BackupDestinationError(err) : err;
      });
    pages = r.totalPages;
  } finally {
    src.close();
  }
  return verifyCopy(source, destination, pages, t0);
}

/** Remove the copy's lease row, check its integrity and read what the report tells about it. */
function verifyCopy(source: string, destination: string, pages: number, t0: number): BackupReport {
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
