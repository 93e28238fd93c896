/**
 * The prepared statements the SQLite store writes through (one set per open), and the
 * session-effect encoder shared by journal.effect and session_states.state (schema v6). The `folded*` statements
 * write a row once per batch with what all of the batch's records set on it (batch-fold.ts).
 */
import type Database from "better-sqlite3";
import { COMMAND_COLUMNS } from "./codec.js";
import type { SessionEffect } from "../lifecycle/status.js";

export interface Statements {
  insertJournal: Database.Statement;
  insertCommand: Database.Statement;
  claimIdempotency: Database.Statement;
  expireIdempotency: Database.Statement;
  createSession: Database.Statement;
  writeSession: Database.Statement;
  deleteSession: Database.Statement;
  sessionRow: Database.Statement;
  /** (v6) a session's checkpoint: its state as of a version, and its lane's lane_seq then */
  putSessionState: Database.Statement;
  dropSessionState: Database.Statement;
  upsertLane: Database.Statement;
  getCommand: Database.Statement;
  getIdempotency: Database.Statement;
  /** the read-only checks of a projection that outlives its batch (fold-rows.ts check()) */
  commandExists: Database.Statement;
  idempotencyExpiry: Database.Statement;
  /** meta `materialized_seq`: the derived tables hold every journal row up to it (projection.ts) */
  setWatermark: Database.Statement;
  /** one row per (command, dependency) */
  insertDependency: Database.Statement;
  /** the latest accepted time so far, and a command accepted before it */
  maxAcceptedAt: Database.Statement;
  insertClockRegression: Database.Statement;
  /** a command admitted in this batch, with the status and columns the batch's later rows gave it */
  foldedInsertCommand: Database.Statement;
  /** claim a key with the expiry the batch's finished row gave it (NULL while unfinished) */
  foldedClaimIdempotency: Database.Statement;
  /** a session's last state in the batch, first changed by create / write / delete (their checks) */
  foldedCreateSession: Database.Statement;
  foldedWriteSession: Database.Statement;
  foldedDeleteSession: Database.Statement;
}

/** JSON of a session effect, embedding the already serialized state (JSON.stringify key order). */
export function encodeEffect(e: SessionEffect, stateJson: string | null): string {
  if (e.kind === "delete") return JSON.stringify(e);
  if (e.kind === "patch") return JSON.stringify({ kind: e.kind, sessionId: e.sessionId, version: e.version, ops: e.ops });
  const created = e.kind === "create" && e.createdAt !== undefined ? `,"createdAt":${JSON.stringify(e.createdAt)}` : "";
  return `{"kind":${JSON.stringify(e.kind)},"sessionId":${JSON.stringify(e.sessionId)},"state":${stateJson ?? "null"},"version":${JSON.stringify(e.version)}${created}}`;
}

export function prepareStatements(db: Database.Database): Statements {
  return {
    insertJournal: db.prepare(
      `INSERT INTO journal (seq, lane, lane_seq, command_id, session_id, phase, recorded_at, type, actor,
         fingerprint, explicit_id, idempotency_key, idempotency_scope, depends_on, if_session_version,
         params, timeout_ms, status, outcome, effect, idempotency_expires_at, detail, revision)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertCommand: db.prepare(
      `INSERT INTO commands (command_id, lane, session_id, type, actor, fingerprint, explicit_id,
         idempotency_key, idempotency_scope, depends_on, if_session_version, params, timeout_ms,
         status, accepted_seq, accepted_at, tags, not_before, queued_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)`,
    ),
    // (re)claim a key: insert, or replace an entry that has expired at the accept time
    claimIdempotency: db.prepare(
      `INSERT INTO idempotency (scope, key, command_id, fingerprint, expires_at) VALUES (?, ?, ?, ?, NULL)
       ON CONFLICT (scope, key) DO UPDATE SET command_id = excluded.command_id,
         fingerprint = excluded.fingerprint, expires_at = NULL
       WHERE idempotency.expires_at IS NOT NULL AND idempotency.expires_at <= ?`,
    ),
    expireIdempotency: db.prepare(
      "UPDATE idempotency SET expires_at = ? WHERE scope = ? AND key = ? AND command_id = ?",
    ),
    createSession: db.prepare(
      `INSERT INTO sessions (session_id, version, created_at, updated_at, deleted_at)
       VALUES (?, ?, ?, ?, NULL)
       ON CONFLICT (session_id) DO UPDATE SET version = excluded.version,
         created_at = excluded.created_at, updated_at = excluded.updated_at, deleted_at = NULL
       WHERE sessions.deleted_at IS NOT NULL`,
    ),
    writeSession: db.prepare(
      `UPDATE sessions SET version = ?, updated_at = ?
       WHERE session_id = ? AND deleted_at IS NULL AND version < ?`,
    ),
    deleteSession: db.prepare(
      "UPDATE sessions SET deleted_at = ?, updated_at = ? WHERE session_id = ? AND deleted_at IS NULL",
    ),
    sessionRow: db.prepare("SELECT version, deleted_at FROM sessions WHERE session_id = ?"),
    putSessionState: db.prepare(
      `INSERT INTO session_states (session_id, version, lane_seq, state) VALUES (?, ?, ?, ?)
       ON CONFLICT (session_id) DO UPDATE SET version = excluded.version, lane_seq = excluded.lane_seq, state = excluded.state`,
    ),
    dropSessionState: db.prepare("DELETE FROM session_states WHERE session_id = ?"),
    upsertLane: db.prepare(
      `INSERT INTO lanes (lane, last_lane_seq, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (lane) DO UPDATE SET last_lane_seq = excluded.last_lane_seq, updated_at = excluded.updated_at`,
    ),
    getCommand: db.prepare(`SELECT ${COMMAND_COLUMNS}, revision FROM commands WHERE command_id = ?`),
    getIdempotency: db.prepare(
      "SELECT command_id, fingerprint FROM idempotency WHERE scope = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)",
    ),
    commandExists: db.prepare("SELECT 1 FROM commands WHERE command_id = ?"),
    idempotencyExpiry: db.prepare("SELECT expires_at FROM idempotency WHERE scope = ? AND key = ?"),
    setWatermark: db.prepare("INSERT INTO meta (key, value) VALUES ('materialized_seq', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
    insertDependency: db.prepare("INSERT OR IGNORE INTO command_dependencies (command_id, depends_on, accepted_seq) VALUES (?, ?, ?)"),
    maxAcceptedAt: db.prepare("SELECT max(accepted_at) AS m FROM commands"),
    insertClockRegression: db.prepare("INSERT OR REPLACE INTO clock_regressions (accepted_seq, accepted_at, previous_max) VALUES (?, ?, ?)"),
    ...prepareFolded(db),
  };
}

type FoldedStatements = Pick<Statements, "foldedInsertCommand" | "foldedClaimIdempotency" | "foldedCreateSession" | "foldedWriteSession" | "foldedDeleteSession">;

function prepareFolded(db: Database.Database): FoldedStatements {
  return {
    foldedInsertCommand: db.prepare(
      `INSERT INTO commands (command_id, lane, session_id, type, actor, fingerprint, explicit_id,
         idempotency_key, idempotency_scope, depends_on, if_session_version, params, timeout_ms,
         accepted_seq, accepted_at, tags, not_before,
         status, revision, started_at, pending_reason, expires_at, governance, policy_version, queued_at,
         outcome, finished_seq, finished_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    // the same claim rule as claimIdempotency, with the entry's expiry as the batch left it
    foldedClaimIdempotency: db.prepare(
      `INSERT INTO idempotency (scope, key, command_id, fingerprint, expires_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (scope, key) DO UPDATE SET command_id = excluded.command_id,
         fingerprint = excluded.fingerprint, expires_at = excluded.expires_at
       WHERE idempotency.expires_at IS NOT NULL AND idempotency.expires_at <= ?`,
    ),
    // the guards are createSession's, writeSession's and deleteSession's: the first effect's check
    foldedCreateSession: db.prepare(
      `INSERT INTO sessions (session_id, version, created_at, updated_at, deleted_at)
       VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (session_id) DO UPDATE SET version = excluded.version,
         created_at = excluded.created_at, updated_at = excluded.updated_at, deleted_at = excluded.deleted_at
       WHERE sessions.deleted_at IS NOT NULL`,
    ),
    foldedWriteSession: db.prepare(
      `UPDATE sessions SET version = ?, created_at = coalesce(?, created_at), updated_at = ?, deleted_at = ?
       WHERE session_id = ? AND deleted_at IS NULL AND version < ?`,
    ),
    foldedDeleteSession: db.prepare(
      `UPDATE sessions SET version = coalesce(?, version), created_at = coalesce(?, created_at),
         updated_at = ?, deleted_at = ?
       WHERE session_id = ? AND deleted_at IS NULL`,
    ),
  };
}
