/** Migration 1: the base schema (meta, journal, commands, idempotency, sessions, lanes, lease). */
import type { Migration } from "./migration.js";

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

export const V1: Migration = {
  version: 1,
  description: "base schema: meta, journal, commands, idempotency, sessions, lanes, lease",
  up(db) {
    db.exec(V1_SQL);
    db.exec(LEASE_TABLE_SQL);
  },
};
