/**
 * Migration 5: governance. The journal and commands tables are rebuilt (SQLite cannot alter a
 * CHECK), the views recreated with the four unfinished statuses, and the governance columns and
 * tables added.
 */
import type Database from "better-sqlite3";
import type { Migration } from "./migration.js";
import { V2_SQL } from "./v2.js";

/** The four unfinished statuses (schema v5), as an SQL list; the queries use the same text (partial indexes). */
export const UNFINISHED_SQL_LIST = "'queued','running','pending','approved'";

const V5_SQL = `
CREATE TABLE command_tags (
  tag          TEXT    NOT NULL,
  accepted_seq INTEGER NOT NULL,
  command_id   TEXT    NOT NULL,
  PRIMARY KEY (tag, accepted_seq)
) WITHOUT ROWID;

CREATE TABLE decisions (
  seq        INTEGER PRIMARY KEY,
  command_id TEXT    NOT NULL,
  revision   INTEGER NOT NULL,
  kind       TEXT    NOT NULL,
  actor      TEXT    NOT NULL,
  at         INTEGER NOT NULL,
  step       INTEGER,
  comment    TEXT
);
CREATE INDEX decisions_command ON decisions(command_id, seq);
CREATE INDEX decisions_actor   ON decisions(actor, kind, command_id);
CREATE INDEX commands_pending  ON commands(accepted_seq) WHERE status = 'pending';
`;

/**
 * Rebuild a table whose CHECK constraints must change (SQLite cannot ALTER a CHECK): the
 * documented create-copy-drop-rename procedure, keeping its indexes and triggers. `edit` turns the
 * old CREATE TABLE text into the new one and must change it.
 */
function rebuildTable(db: Database.Database, table: string, edit: (sql: string) => string, editIndex: (sql: string) => string = (x) => x, beforeTriggers: () => void = () => {}): void {
  const create = (db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) as { sql: string }).sql;
  const next = edit(create);
  if (next === create) throw new Error(`migration 5: the ${table} table has an unexpected definition`);
  const deps = db.prepare("SELECT type, sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index','trigger') AND sql IS NOT NULL").all(table) as Array<{ type: string; sql: string }>;
  const columns = (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name).join(", ");
  const tmp = `${table}_v5`;
  db.exec(next.replace(new RegExp(`^CREATE TABLE "?${table}"?`), `CREATE TABLE ${tmp}`));
  db.exec(`INSERT INTO ${tmp} (${columns}) SELECT ${columns} FROM ${table}`);
  db.exec(`DROP TABLE ${table}`);
  db.exec(`ALTER TABLE ${tmp} RENAME TO ${table}`);
  beforeTriggers();
  for (const d of deps) db.exec(d.type === "index" ? editIndex(d.sql) : d.sql);
}

const viewNames = (db: Database.Database): string[] =>
  (db.prepare("SELECT name FROM sqlite_master WHERE type = 'view'").all() as Array<{ name: string }>).map((r) => r.name);

/** v2's views with the v5 set of unfinished statuses. */
function v5Views(): string {
  const views = V2_SQL.slice(V2_SQL.indexOf("CREATE VIEW"));
  return views.replaceAll("c.status IN ('queued','running')", `c.status IN (${UNFINISHED_SQL_LIST})`);
}

function migrateToV5(db: Database.Database): void {
  for (const v of viewNames(db)) db.exec(`DROP VIEW ${v}`);
  rebuildTable(db, "journal", (sql) =>
    sql.replace("OR phase = 'replayed' OR phase = 'conflict' OR phase = 'requeued')", "OR phase = 'replayed' OR phase = 'conflict' OR phase = 'requeued'\n        OR phase = 'pending' OR phase = 'approval' OR phase = 'approved' OR phase = 'released' OR phase = 'renewed')"),
  );
  db.exec("ALTER TABLE journal ADD COLUMN revision INTEGER");
  rebuildTable(
    db,
    "commands",
    (sql) =>
      sql
        .replace("OR status = 'failed' OR status = 'timed_out' OR status = 'interrupted'),", "OR status = 'failed' OR status = 'timed_out' OR status = 'interrupted'\n        OR status = 'pending' OR status = 'approved' OR status = 'rejected' OR status = 'cancelled'\n        OR status = 'expired' OR status = 'superseded'),")
        .replace("CHECK ((status IN ('queued','running')) = (outcome IS NULL))", "CHECK ((status = 'queued' OR status = 'running' OR status = 'pending' OR status = 'approved') = (outcome IS NULL))"),
    (sql) => sql.replace("status IN ('queued','running')", `status IN (${UNFINISHED_SQL_LIST})`).replace("status NOT IN ('queued','running')", `status NOT IN (${UNFINISHED_SQL_LIST})`),
    () => {
      for (const col of ["revision INTEGER NOT NULL DEFAULT 0", "pending_reason TEXT", "expires_at INTEGER", "not_before INTEGER", "queued_at INTEGER", "policy_version TEXT", "tags TEXT", "governance TEXT"]) {
        db.exec(`ALTER TABLE commands ADD COLUMN ${col}`);
      }
      // revisions of existing commands: one per status-changing row after `accepted` (before the
      // outcome-written-once trigger is back)
      db.exec(`UPDATE commands SET revision = (SELECT count(*) FROM journal j WHERE j.command_id = commands.command_id
                 AND (j.phase = 'started' OR j.phase = 'requeued' OR j.phase = 'finished')),
                 queued_at = CASE WHEN status = 'queued' THEN accepted_at END`);
    },
  );
  db.exec(v5Views());
  db.exec(V5_SQL);
}

export const V5: Migration = {
  version: 5,
  description:
    "governance: journal phases pending/approval/approved/released/renewed and a revision column; command statuses pending/approved/rejected/cancelled/expired/superseded with revision, pending_reason, expires_at, not_before, queued_at, policy_version, tags, governance; command_tags and decisions tables (journal and commands are rebuilt: SQLite cannot alter a CHECK)",
  up(db) {
    migrateToV5(db);
  },
};
