/**
 * A journal at an older schema version, for migration tests and fixtures
 * (scripts/make-v1-fixture.mjs). The store writes only the latest schema, so an old journal is built
 * the way such a file came to exist: the frozen migrations 1..`version` create its schema, and its
 * rows are what the store materializes for the same records, copied into the tables and columns
 * that version has (what later migrations add is left out; they fill it in when they run). Before
 * v6 a session's state was a column of its `sessions` row: it is filled with the state the store
 * holds for it now (its checkpoint and the patches after it; a deleted session's: null).
 */
import Database from "better-sqlite3";
import { SqliteStore } from "../sqlite-store.js";
import type { JournalRecord } from "../types.js";
import { readSessionState } from "../session-states.js";
import { runMigrations } from "./index.js";

/** Tables the migrations own (schema version, lease), never copied. */
const NOT_COPIED = new Set(["meta", "lease"]);

/**
 * Create the journal `path` (which must not exist) at schema `version`, holding the records of
 * `batches` (each one commit). Returns the schema version of the file written.
 */
export function writeOldJournal(path: string, version: number, batches: JournalRecord[][]): number {
  const source = new SqliteStore({ path: ":memory:", durability: "off" });
  source.open();
  const db = new Database(path);
  try {
    for (const batch of batches) source.commit(batch);
    const written = runMigrations(db, path, version);
    const from = source.database();
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid").pluck().all() as string[];
    db.transaction(() => {
      for (const table of tables.filter((t) => !NOT_COPIED.has(t))) {
        const columns = (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name).join(", ");
        const insert = db.prepare(`INSERT INTO ${table} (${columns}) VALUES (${columns.split(", ").map(() => "?").join(", ")})`);
        for (const row of from.prepare(`SELECT ${sourceColumns(table, columns)} FROM ${table}`).raw().iterate() as Iterable<unknown[]>) insert.run(...fill(from, table, columns, row));
      }
    })();
    return written;
  } finally {
    db.close();
    source.close();
  }
}

/** The column list to read from the latest schema (`sessions.state`, gone since v6, read as null first). */
function sourceColumns(table: string, columns: string): string {
  return table === "sessions" ? columns.replace(/\bstate\b/, "NULL AS state") : columns;
}

function fill(from: Database.Database, table: string, columns: string, row: unknown[]): unknown[] {
  const names = columns.split(", ");
  const at = names.indexOf("state");
  if (table !== "sessions" || at < 0) return row;
  const id = row[names.indexOf("session_id")] as string;
  const out = row.slice();
  out[at] = JSON.stringify(readSessionState(from, id)?.state ?? null);
  return out;
}
