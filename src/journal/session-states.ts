/**
 * A session's state as the journal holds it since schema v6 (issue #17): the checkpoint in
 * `session_states` (the state as of a version, written at create and at each whole `write`), then
 * the `patch` effects of the session's lane after the checkpoint's lane_seq. Restart and the
 * audit's materialized comparison read states this way; nothing reads a whole state per write.
 */
import type Database from "better-sqlite3";
import { stateAfter } from "../lifecycle/effects.js";
import { opsBytes } from "../lifecycle/state-change.js";
import type { SessionEffect } from "../lifecycle/status.js";
import type { RecoveredSession } from "./record.js";

interface CheckpointRow {
  session_id: string;
  version: number;
  created_at: number;
  cp_version: number | null;
  lane_seq: number | null;
  state: string | null;
}

const SELECT = `SELECT s.session_id, s.version, s.created_at, st.version AS cp_version, st.lane_seq, st.state
  FROM sessions s LEFT JOIN session_states st ON st.session_id = s.session_id`;

const LANE_EFFECTS = "SELECT effect FROM journal WHERE lane = ? AND lane_seq > ? AND phase = 'finished' AND effect IS NOT NULL ORDER BY lane_seq";

/** Every live session, in id order, with its current state. */
export function readLiveSessions(db: Database.Database): RecoveredSession[] {
  const rows = db.prepare(`${SELECT} WHERE s.deleted_at IS NULL ORDER BY s.session_id`).all() as CheckpointRow[];
  return rows.map((r) => rebuild(db, r));
}

/** One session's current state (undefined: no such session, or deleted). */
export function readSessionState(db: Database.Database, sessionId: string): RecoveredSession | undefined {
  const row = db.prepare(`${SELECT} WHERE s.session_id = ? AND s.deleted_at IS NULL`).get(sessionId) as CheckpointRow | undefined;
  return row ? rebuild(db, row) : undefined;
}

function rebuild(db: Database.Database, row: CheckpointRow): RecoveredSession {
  const id = row.session_id;
  if (row.state === null || row.cp_version === null) throw new Error(`journal inconsistent: live session ${id} has no state checkpoint (session_states)`);
  let state = JSON.parse(row.state) as unknown;
  let version = row.cp_version;
  let patchBytes = 0;
  if (version < row.version) {
    for (const j of db.prepare(LANE_EFFECTS).iterate(`session:${id}`, row.lane_seq ?? 0) as Iterable<{ effect: string }>) {
      const e = JSON.parse(j.effect) as SessionEffect;
      if (e.kind === "delete" || e.sessionId !== id || e.version <= version) continue;
      state = stateAfter(e, state);
      version = e.version;
      patchBytes = e.kind === "patch" ? patchBytes + opsBytes(e.ops) : 0;
    }
  }
  if (version !== row.version) throw new Error(`journal inconsistent: session ${id} is at version ${row.version}, its checkpoint and patches rebuild version ${version}`);
  return { sessionId: id, state, version, createdAt: row.created_at, ...(patchBytes > 0 ? { patchBytes } : {}) };
}
