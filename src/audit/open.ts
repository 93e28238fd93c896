/**
 * Open a journal for auditing: read-only, never creating the file, never taking the writer's
 * lease. Works next to a running server (WAL: readers and the writer proceed concurrently) and on
 * a copy (copy the `-wal` file along with the database while a server may hold it open).
 */
import Database from "better-sqlite3";
import { assertReadableJournal } from "../journal/file-identity.js";

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
    // refuse another application's file, or one without causeway's tables, before reading anything else
    assertReadableJournal(db, path);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
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
