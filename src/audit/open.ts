/**
 * Open a journal for auditing: read-only, never creating the file, never taking the writer's
 * lease. Works next to a running server (WAL: readers and the writer proceed concurrently) and on
 * a copy (copy the `-wal` file along with the database while a server may hold it open).
 */
import Database from "better-sqlite3";

export class AuditOpenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AuditOpenError";
  }
}

export function openAuditDatabase(path: string): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new AuditOpenError(`cannot open ${path} read-only: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    db.pragma("busy_timeout = 5000");
    assertJournal(db, path);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** Refuse a database that is not a causeway journal (before reading anything else). */
export function assertJournal(db: Database.Database, path: string): void {
  const tables = new Set(
    (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name),
  );
  const missing = ["journal", "commands", "sessions", "idempotency", "lanes"].filter((t) => !tables.has(t));
  if (missing.length > 0) throw new AuditOpenError(`${path} is not a causeway journal (missing tables: ${missing.join(", ")})`);
}

/**
 * Run `fn` inside one read transaction, so the journal and the materialized tables are read from
 * the same snapshot even while a server keeps committing. (A long snapshot holds WAL checkpoints
 * back: the server's -wal file grows until the audit ends.)
 */
export async function withSnapshot<T>(db: Database.Database, fn: () => Promise<T>): Promise<T> {
  db.exec("BEGIN");
  try {
    // the snapshot starts at the first read
    db.prepare("SELECT count(*) FROM sqlite_master").get();
    return await fn();
  } finally {
    if (db.inTransaction) db.exec("COMMIT");
  }
}
