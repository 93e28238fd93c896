/**
 * Numbered schema migrations of the SQLite journal.
 *
 * Rules:
 *  - A migration, once released, is frozen: never edit its SQL, add a new one instead.
 *  - Each migration runs in its own transaction together with the schema-version bump, so a
 *    database is always at exactly one version (the `meta.schema_version` row and `PRAGMA
 *    user_version` always agree).
 *  - A database whose version is newer than `LATEST_SCHEMA_VERSION` is refused (`schema_too_new`):
 *    an older causeway must not write to a schema it does not understand.
 *
 * One file per migration (v1.ts … v7.ts); docs/journal-schema.md documents every table, index and
 * view they create.
 */
import type Database from "better-sqlite3";
import { StoreOpenError } from "../types.js";
import type { Migration } from "./migration.js";
import { V1 } from "./v1.js";
import { V2 } from "./v2.js";
import { V3 } from "./v3.js";
import { V4 } from "./v4.js";
import { V5 } from "./v5.js";
import { V6 } from "./v6.js";
import { V7 } from "./v7.js";

export type { Migration } from "./migration.js";
export { LEASE_TABLE_SQL } from "./v1.js";
export { RETENTION_SCHEMA_SQL } from "./v4.js";
export { UNFINISHED_SQL_LIST } from "./v5.js";

export const MIGRATIONS: Migration[] = [V1, V2, V3, V4, V5, V6, V7];

export const LATEST_SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]!.version;

function hasTable(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/** The schema version of `db`: max(meta.schema_version, PRAGMA user_version); 0 for an empty file. */
export function readSchemaVersion(db: Database.Database): number {
  const userVersion = Number(db.pragma("user_version", { simple: true }) ?? 0);
  let metaVersion = 0;
  if (hasTable(db, "meta")) {
    const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as
      | { value: string }
      | undefined;
    if (row) metaVersion = Number(row.value);
  }
  return Math.max(userVersion, Number.isFinite(metaVersion) ? metaVersion : 0);
}

/** Refuse (code `schema_too_new`) a database written by a newer causeway. */
export function assertSchemaNotTooNew(db: Database.Database, path: string): number {
  const version = readSchemaVersion(db);
  if (version > LATEST_SCHEMA_VERSION) {
    throw new StoreOpenError(
      "schema_too_new",
      `database ${path} has schema version ${version}, this causeway supports up to ${LATEST_SCHEMA_VERSION}; upgrade causeway`,
      { path, schemaVersion: version, supported: LATEST_SCHEMA_VERSION },
    );
  }
  return version;
}

function setSchemaVersion(db: Database.Database, version: number): void {
  db.prepare(
    "INSERT INTO meta(key, value) VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
  ).run(String(version));
  db.pragma(`user_version = ${version}`);
}

/**
 * Apply every pending migration up to `target` (default: latest), each in its own transaction.
 * Returns the resulting schema version. The caller must hold the single-writer lease.
 */
export function runMigrations(
  db: Database.Database,
  path: string,
  target: number = LATEST_SCHEMA_VERSION,
): number {
  let current = assertSchemaNotTooNew(db, path);
  for (const m of MIGRATIONS) {
    if (m.version <= current || m.version > target) continue;
    db.transaction(() => {
      // re-read under the write lock: another opener may have migrated meanwhile
      const now = readSchemaVersion(db);
      if (now >= m.version) return;
      m.up(db);
      setSchemaVersion(db, m.version);
    }).immediate();
    current = m.version;
  }
  return readSchemaVersion(db);
}
