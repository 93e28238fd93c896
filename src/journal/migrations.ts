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
 * docs/journal-schema.md documents every table, index and view created here.
 */
import type Database from "better-sqlite3";
import { RETENTION_SCHEMA_SQL } from "./retention.js";
import { StoreOpenError } from "./types.js";

export interface Migration {
  version: number;
  description: string;
  up(db: Database.Database): void;
}

/**
 * The single-writer lease table. Part of migration 1, and also created (idempotently) by the lease
 * code before migrations run, because the lease must be held while migrating.
 */
export const LEASE_TABLE_SQL = `CREATE TABLE IF NOT EXISTS lease (
  id                INTEGER PRIMARY KEY CHECK (id = 1),
  holder_pid        INTEGER NOT NULL,
  holder_host       TEXT    NOT NULL,
  holder_started_at INTEGER NOT NULL,
  heartbeat_at      INTEGER NOT NULL,
  heartbeat_ms      INTEGER NOT NULL,
  token             TEXT    NOT NULL
)`;

// Note on style: CHECK constraints and trigger conditions are evaluated for every written row, so
// they use OR-chains instead of "x IN (<3+ constants>)": SQLite builds an ephemeral lookup table for
// IN-lists of more than two constants on each statement execution, which measured ~35% slower inserts.
const V1_SQL = `
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE journal (
  seq                    INTEGER PRIMARY KEY CHECK (seq > 0),
  lane                   TEXT    NOT NULL,
  lane_seq               INTEGER NOT NULL CHECK (lane_seq > 0),
  command_id             TEXT    NOT NULL,
  session_id             TEXT,
  phase                  TEXT    NOT NULL
    CHECK (phase = 'accepted' OR phase = 'started' OR phase = 'finished'
        OR phase = 'replayed' OR phase = 'conflict' OR phase = 'requeued'),
  recorded_at            INTEGER NOT NULL,
  type                   TEXT    NOT NULL,
  actor                  TEXT    NOT NULL,
  fingerprint            TEXT,
  explicit_id            INTEGER,
  idempotency_key        TEXT,
  idempotency_scope      TEXT,
  depends_on             TEXT,
  if_session_version     INTEGER,
  params                 TEXT,
  timeout_ms             INTEGER,
  status                 TEXT,
  outcome                TEXT,
  effect                 TEXT,
  idempotency_expires_at INTEGER,
  detail                 TEXT,
  UNIQUE (lane, lane_seq)
);

CREATE TRIGGER journal_append_only_update BEFORE UPDATE ON journal
BEGIN
  SELECT RAISE(ABORT, 'journal is append-only: rows are never updated');
END;

CREATE TRIGGER journal_append_only_delete BEFORE DELETE ON journal
BEGIN
  SELECT RAISE(ABORT, 'journal is append-only: rows are never deleted');
END;

CREATE TABLE commands (
  command_id         TEXT    PRIMARY KEY,
  lane               TEXT    NOT NULL,
  session_id         TEXT,
  type               TEXT    NOT NULL,
  actor              TEXT    NOT NULL,
  fingerprint        TEXT,
  explicit_id        INTEGER NOT NULL DEFAULT 0,
  idempotency_key    TEXT,
  idempotency_scope  TEXT,
  depends_on         TEXT,
  if_session_version INTEGER,
  params             TEXT,
  timeout_ms         INTEGER,
  status             TEXT    NOT NULL
    CHECK (status = 'queued' OR status = 'running' OR status = 'succeeded'
        OR status = 'failed' OR status = 'timed_out' OR status = 'interrupted'),
  accepted_seq       INTEGER NOT NULL,
  accepted_at        INTEGER NOT NULL,
  started_at         INTEGER,
  finished_seq       INTEGER,
  finished_at        INTEGER,
  outcome            TEXT,
  CHECK ((status IN ('queued','running')) = (outcome IS NULL))
);

CREATE TRIGGER commands_outcome_written_once BEFORE UPDATE ON commands
WHEN OLD.outcome IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'a terminal command outcome is written once and never overwritten');
END;

CREATE TABLE idempotency (
  scope       TEXT NOT NULL,
  key         TEXT NOT NULL,
  command_id  TEXT NOT NULL,
  fingerprint TEXT,
  expires_at  INTEGER,
  PRIMARY KEY (scope, key)
) WITHOUT ROWID;

CREATE TABLE sessions (
  session_id TEXT    PRIMARY KEY,
  state      TEXT    NOT NULL,
  version    INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  deleted_at INTEGER
);

CREATE TABLE lanes (
  lane          TEXT    PRIMARY KEY,
  last_lane_seq INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
) WITHOUT ROWID;
`;

/** epoch milliseconds -> ISO-8601 UTC text, usable in views */
const iso = (col: string): string => `strftime('%Y-%m-%dT%H:%M:%fZ', ${col} / 1000.0, 'unixepoch')`;
/** "now" in epoch ms, portable to old sqlite3 shells (no unixepoch('subsec')) */
const NOW_MS = `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`;

const V2_SQL = `
CREATE INDEX commands_unfinished ON commands(accepted_seq) WHERE status IN ('queued','running');
CREATE INDEX commands_session ON commands(session_id, accepted_seq);
CREATE INDEX journal_command ON journal(command_id);

CREATE VIEW v_command_outcomes AS
SELECT
  c.command_id,
  c.type,
  c.session_id,
  c.actor,
  c.lane,
  c.status,
  json_extract(c.outcome, '$.success')        AS success,
  json_extract(c.outcome, '$.code')           AS code,
  json_extract(c.outcome, '$.error')          AS error,
  json_extract(c.outcome, '$.sessionVersion') AS session_version,
  c.idempotency_key,
  c.accepted_seq,
  c.accepted_at,
  ${iso("c.accepted_at")}                     AS accepted_at_iso,
  c.started_at,
  c.finished_seq,
  c.finished_at,
  ${iso("c.finished_at")}                     AS finished_at_iso,
  c.finished_at - c.accepted_at               AS duration_ms
FROM commands c;

CREATE VIEW v_unfinished AS
SELECT
  c.command_id,
  c.type,
  c.session_id,
  c.lane,
  c.status,
  c.depends_on,
  c.if_session_version,
  c.idempotency_key,
  c.timeout_ms,
  c.accepted_seq,
  c.accepted_at,
  ${iso("c.accepted_at")} AS accepted_at_iso,
  c.started_at
FROM commands c
WHERE c.status IN ('queued','running')
ORDER BY c.accepted_seq;

CREATE VIEW v_lane_heads AS
SELECT
  l.lane,
  l.last_lane_seq,
  l.updated_at,
  ${iso("l.updated_at")} AS updated_at_iso,
  (SELECT count(*) FROM commands c
     WHERE c.lane = l.lane AND c.status IN ('queued','running')) AS unfinished
FROM lanes l;

CREATE VIEW v_live_idempotency_keys AS
SELECT
  i.scope,
  i.key,
  i.command_id,
  i.fingerprint,
  c.status,
  i.expires_at,
  ${iso("i.expires_at")} AS expires_at_iso,
  i.expires_at IS NULL   AS in_flight
FROM idempotency i
LEFT JOIN commands c ON c.command_id = i.command_id
WHERE i.expires_at IS NULL OR i.expires_at > ${NOW_MS};

CREATE VIEW v_session_versions AS
SELECT
  s.session_id,
  s.version,
  s.deleted_at IS NOT NULL AS deleted,
  s.created_at,
  ${iso("s.created_at")}   AS created_at_iso,
  s.updated_at,
  ${iso("s.updated_at")}   AS updated_at_iso,
  s.deleted_at,
  ${iso("s.deleted_at")}   AS deleted_at_iso,
  length(s.state)          AS state_bytes,
  (SELECT count(*) FROM commands c WHERE c.session_id = s.session_id) AS commands
FROM sessions s;
`;

/**
 * v3 (issue #4): history queries. Every filter of `get_command_history` is served by an index whose
 * last column is accepted_seq, so a page is one index range read in cursor order (no sort).
 * commands_status holds finished commands only (unfinished ones are in commands_unfinished, v2), so
 * it is written once per command, and restart recovery keeps reading commands_unfinished.
 * Time windows are translated to accepted_seq ranges through commands_accepted_at; the
 * clock_regressions table records the rare commands whose accepted_at went backwards (the store
 * adds them when it materializes an accepted record; a trigger measured ~30% slower commits), so
 * that translation can tell when it is exact. command_dependencies answers "who depends on X".
 * journal_replay_of finds replays recorded under another id (idempotencyKey).
 */
const V3_SQL = `
CREATE INDEX commands_accepted    ON commands(accepted_seq);
CREATE INDEX commands_accepted_at ON commands(accepted_at, accepted_seq);
CREATE INDEX commands_type        ON commands(type, accepted_seq);
CREATE INDEX commands_status      ON commands(status, accepted_seq) WHERE status NOT IN ('queued','running');
CREATE INDEX commands_actor       ON commands(actor, accepted_seq);
CREATE INDEX commands_lane        ON commands(lane, accepted_seq);

CREATE TABLE command_dependencies (
  command_id   TEXT    NOT NULL,
  depends_on   TEXT    NOT NULL,
  accepted_seq INTEGER NOT NULL,
  PRIMARY KEY (depends_on, accepted_seq)
) WITHOUT ROWID;

INSERT OR IGNORE INTO command_dependencies (command_id, depends_on, accepted_seq)
SELECT c.command_id, d.value, c.accepted_seq
FROM commands c, json_each(c.depends_on) d
WHERE c.depends_on IS NOT NULL AND d.type = 'text';

CREATE TABLE clock_regressions (
  accepted_seq INTEGER PRIMARY KEY,
  accepted_at  INTEGER NOT NULL,
  previous_max INTEGER NOT NULL
);

INSERT INTO clock_regressions (accepted_seq, accepted_at, previous_max)
SELECT accepted_seq, accepted_at, previous_max FROM (
  SELECT accepted_seq, accepted_at,
         max(accepted_at) OVER (ORDER BY accepted_seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous_max
  FROM commands
) WHERE accepted_at < previous_max;

CREATE INDEX journal_replay_of ON journal(json_extract(detail, '$.replayOf')) WHERE phase = 'replayed';
`;

/** The four unfinished statuses (schema v5), as an SQL list; queries.ts uses the same text. */
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

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: "base schema: meta, journal, commands, idempotency, sessions, lanes, lease",
    up(db) {
      db.exec(V1_SQL);
      db.exec(LEASE_TABLE_SQL);
    },
  },
  {
    version: 2,
    description:
      "recovery and audit indexes (commands_unfinished, commands_session, journal_command) and audit views",
    up(db) {
      db.exec(V2_SQL);
    },
  },
  {
    version: 3,
    description:
      "history indexes on commands (accepted_seq, accepted_at, type, status, actor, lane), command_dependencies and clock_regressions (both backfilled), journal_replay_of",
    up(db) {
      db.exec(V3_SQL);
    },
  },
  {
    version: 4,
    description: "retention: checkpoints table, journal deletes allowed only during compaction, command_dependencies(command_id) index",
    up(db) {
      db.exec(RETENTION_SCHEMA_SQL);
      db.exec("CREATE INDEX IF NOT EXISTS command_dependencies_command ON command_dependencies(command_id);");
    },
  },
  {
    version: 5,
    description:
      "governance: journal phases pending/approval/approved/released/renewed and a revision column; command statuses pending/approved/rejected/cancelled/expired/superseded with revision, pending_reason, expires_at, not_before, queued_at, policy_version, tags, governance; command_tags and decisions tables (journal and commands are rebuilt: SQLite cannot alter a CHECK)",
    up(db) {
      migrateToV5(db);
    },
  },
];

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
