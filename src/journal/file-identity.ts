/**
 * Which SQLite files are causeway journals. A journal is marked with `PRAGMA application_id =
 * CAUSEWAY_APPLICATION_ID` (the 32-bit big-endian integer at offset 68 of the database header,
 * meant exactly for this: https://www.sqlite.org/fileformat.html#application_id).
 *
 * - marked with our id: a causeway journal;
 * - no id (0) and no schema at all: a new, empty file; the writer marks it before anything else;
 * - no id (0) but causeway's tables (`meta.schema_version` and `journal`): a journal written
 *   before the mark existed; it opens, and the writer marks it after its migrations;
 * - anything else (another application's id, or tables that are not causeway's): refused, before
 *   anything is written (not even the WAL switch, which changes the file header).
 */
import type Database from "better-sqlite3";
import { assertSchemaNotTooNew } from "./migrations/index.js";
import { StoreOpenError } from "./types.js";

/** "CWAY" as a big-endian 32-bit integer: 0x43574159 = 1129791833. */
export const CAUSEWAY_APPLICATION_ID = 0x43574159;

export type JournalFileKind = "marked" | "empty" | "unmarked";

/** The tables every causeway journal has had since schema version 1 (offline tools read them). */
const CORE_TABLES = ["journal", "commands", "sessions", "idempotency", "lanes"] as const;

const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, "0")}`;

function schemaNames(db: Database.Database): string[] {
  const rows = db.prepare("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>;
  return rows.map((r) => r.name);
}

function hasSchemaVersionRow(db: Database.Database): boolean {
  try {
    return db.prepare("SELECT 1 FROM meta WHERE key = 'schema_version'").get() !== undefined;
  } catch {
    return false; // no meta table, or a foreign one of another shape
  }
}

function notAJournal(path: string, why: string, details: Record<string, unknown>): StoreOpenError {
  return new StoreOpenError("not_a_journal", `${path} is not a causeway journal (${why}); refusing to use it, nothing was changed`, { path, ...details });
}

/**
 * Classify the file behind `db` without writing anything. Throws StoreOpenError `not_a_journal`
 * for another application's database.
 */
export function inspectJournalFile(db: Database.Database, path: string): JournalFileKind {
  let appId: number;
  try {
    appId = Number(db.pragma("application_id", { simple: true }) ?? 0);
  } catch (err) {
    if ((err as { code?: unknown }).code === "SQLITE_NOTADB") throw notAJournal(path, "it is not an SQLite database", {});
    throw err;
  }
  if (appId === CAUSEWAY_APPLICATION_ID) return "marked";
  if (appId !== 0) {
    throw notAJournal(path, `its application_id is ${hex(appId)}, causeway's is ${hex(CAUSEWAY_APPLICATION_ID)}`, { applicationId: appId });
  }
  const names = schemaNames(db);
  const userVersion = Number(db.pragma("user_version", { simple: true }) ?? 0);
  if (names.length === 0) {
    if (userVersion === 0) return "empty";
    throw notAJournal(path, `it has user_version ${userVersion} but no tables`, { userVersion });
  }
  if (names.includes("journal") && hasSchemaVersionRow(db)) return "unmarked";
  const shown = names.slice(0, 5).join(", ") + (names.length > 5 ? `, … (${names.length} in all)` : "");
  throw notAJournal(path, `it holds ${shown} and no causeway application_id`, { tables: names });
}

/** Write causeway's mark into the file header (inside its own transaction). */
export function markJournalFile(db: Database.Database): void {
  db.transaction(() => db.pragma(`application_id = ${CAUSEWAY_APPLICATION_ID}`)).immediate();
}

/**
 * For read-only tools (audit, export, backup): throw unless `db` is a causeway journal this version
 * can read; returns its schema version.
 */
export function assertReadableJournal(db: Database.Database, path: string): number {
  if (inspectJournalFile(db, path) === "empty") throw notAJournal(path, "it is empty", {});
  const names = new Set(schemaNames(db));
  const missing = CORE_TABLES.filter((t) => !names.has(t));
  if (missing.length > 0) throw notAJournal(path, `missing tables: ${missing.join(", ")}`, { missing });
  return assertSchemaNotTooNew(db, path);
}
