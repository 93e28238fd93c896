/**
 * The prepared statements of the SQLite store (one set per open, chosen by schema version), and the
 * session-effect encoder shared by journal.effect and sessions.state.
 */
import type Database from "better-sqlite3";
import { COMMAND_COLUMNS } from "./codec.js";
import type { SessionEffect } from "../lifecycle/status.js";

export interface Statements {
  insertJournal: Database.Statement;
  insertCommand: Database.Statement;
  claimIdempotency: Database.Statement;
  startCommand: Database.Statement;
  requeueCommand: Database.Statement;
  finishCommand: Database.Statement;
  finishCommandReturningKey: Database.Statement;
  commandStatus: Database.Statement;
  expireIdempotency: Database.Statement;
  createSession: Database.Statement;
  writeSession: Database.Statement;
  deleteSession: Database.Statement;
  sessionRow: Database.Statement;
  upsertLane: Database.Statement;
  getCommand: Database.Statement;
  getIdempotency: Database.Statement;
  /** schema v3+: one row per (command, dependency); null on older schemas (migrateTo) */
  insertDependency: Database.Statement | null;
  /** schema v3+: the latest accepted time so far, and a command accepted before it */
  maxAcceptedAt: Database.Statement | null;
  insertClockRegression: Database.Statement | null;
}

/** JSON of a session effect, embedding the already serialized state (JSON.stringify key order). */
export function encodeEffect(e: SessionEffect, stateJson: string | null): string {
  if (e.kind === "delete") return JSON.stringify(e);
  const created = e.kind === "create" && e.createdAt !== undefined ? `,"createdAt":${JSON.stringify(e.createdAt)}` : "";
  return `{"kind":${JSON.stringify(e.kind)},"sessionId":${JSON.stringify(e.sessionId)},"state":${stateJson ?? "null"},"version":${JSON.stringify(e.version)}${created}}`;
}

export function prepareStatements(db: Database.Database, schemaVersion: number): Statements {
  return {
    insertJournal: db.prepare(
      schemaVersion >= 5
        ? `INSERT INTO journal (seq, lane, lane_seq, command_id, session_id, phase, recorded_at, type, actor,
             fingerprint, explicit_id, idempotency_key, idempotency_scope, depends_on, if_session_version,
             params, timeout_ms, status, outcome, effect, idempotency_expires_at, detail, revision)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
        : `INSERT INTO journal (seq, lane, lane_seq, command_id, session_id, phase, recorded_at, type, actor,
             fingerprint, explicit_id, idempotency_key, idempotency_scope, depends_on, if_session_version,
             params, timeout_ms, status, outcome, effect, idempotency_expires_at, detail)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertCommand: db.prepare(
      schemaVersion >= 5
        ? `INSERT INTO commands (command_id, lane, session_id, type, actor, fingerprint, explicit_id,
             idempotency_key, idempotency_scope, depends_on, if_session_version, params, timeout_ms,
             status, accepted_seq, accepted_at, tags, not_before, queued_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)`
        : `INSERT INTO commands (command_id, lane, session_id, type, actor, fingerprint, explicit_id,
             idempotency_key, idempotency_scope, depends_on, if_session_version, params, timeout_ms,
             status, accepted_seq, accepted_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)`,
    ),
    // (re)claim a key: insert, or replace an entry that has expired at the accept time
    claimIdempotency: db.prepare(
      `INSERT INTO idempotency (scope, key, command_id, fingerprint, expires_at) VALUES (?, ?, ?, ?, NULL)
       ON CONFLICT (scope, key) DO UPDATE SET command_id = excluded.command_id,
         fingerprint = excluded.fingerprint, expires_at = NULL
       WHERE idempotency.expires_at IS NOT NULL AND idempotency.expires_at <= ?`,
    ),
    startCommand: db.prepare(
      "UPDATE commands SET status = 'running', started_at = ? WHERE command_id = ? AND status = 'queued'",
    ),
    requeueCommand: db.prepare(
      "UPDATE commands SET status = 'queued', started_at = NULL WHERE command_id = ? AND status IN ('queued','running')",
    ),
    finishCommand: db.prepare(
      `UPDATE commands SET status = ?, outcome = ?, finished_seq = ?, finished_at = ?
       WHERE command_id = ? AND status IN ('queued','running')`,
    ),
    finishCommandReturningKey: db.prepare(
      `UPDATE commands SET status = ?, outcome = ?, finished_seq = ?, finished_at = ?
       WHERE command_id = ? AND status IN ('queued','running')
       RETURNING idempotency_scope, idempotency_key`,
    ),
    commandStatus: db.prepare("SELECT status FROM commands WHERE command_id = ?"),
    expireIdempotency: db.prepare(
      "UPDATE idempotency SET expires_at = ? WHERE scope = ? AND key = ? AND command_id = ?",
    ),
    createSession: db.prepare(
      `INSERT INTO sessions (session_id, state, version, created_at, updated_at, deleted_at)
       VALUES (?, ?, ?, ?, ?, NULL)
       ON CONFLICT (session_id) DO UPDATE SET state = excluded.state, version = excluded.version,
         created_at = excluded.created_at, updated_at = excluded.updated_at, deleted_at = NULL
       WHERE sessions.deleted_at IS NOT NULL`,
    ),
    writeSession: db.prepare(
      `UPDATE sessions SET state = ?, version = ?, updated_at = ?
       WHERE session_id = ? AND deleted_at IS NULL AND version < ?`,
    ),
    deleteSession: db.prepare(
      "UPDATE sessions SET deleted_at = ?, updated_at = ? WHERE session_id = ? AND deleted_at IS NULL",
    ),
    sessionRow: db.prepare("SELECT version, deleted_at FROM sessions WHERE session_id = ?"),
    upsertLane: db.prepare(
      `INSERT INTO lanes (lane, last_lane_seq, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (lane) DO UPDATE SET last_lane_seq = excluded.last_lane_seq, updated_at = excluded.updated_at`,
    ),
    getCommand: db.prepare(`SELECT ${COMMAND_COLUMNS}${schemaVersion >= 5 ? ", revision" : ""} FROM commands WHERE command_id = ?`),
    getIdempotency: db.prepare(
      "SELECT command_id, fingerprint FROM idempotency WHERE scope = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)",
    ),
    insertDependency:
      schemaVersion >= 3
        ? db.prepare("INSERT OR IGNORE INTO command_dependencies (command_id, depends_on, accepted_seq) VALUES (?, ?, ?)")
        : null,
    maxAcceptedAt: schemaVersion >= 3 ? db.prepare("SELECT max(accepted_at) AS m FROM commands") : null,
    insertClockRegression:
      schemaVersion >= 3
        ? db.prepare("INSERT OR REPLACE INTO clock_regressions (accepted_seq, accepted_at, previous_max) VALUES (?, ?, ?)")
        : null,
  };
}
