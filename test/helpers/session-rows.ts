/**
 * Session rows with their states, as the store holds them since schema v6 (issue #17): the
 * `sessions` row (version, times, deleted_at) and the state a restart rebuilds from the session's
 * checkpoint and the patches after it (src/journal/session-states.ts); a deleted session's state is
 * null. Tests that read `SELECT state FROM sessions` before v6 read this instead.
 */
import type Database from "better-sqlite3";
import { readSessionState } from "../../src/journal/session-states.js";

import type { SessionsTableRow } from "../../src/journal/audit-reads.js";

export type SessionRowWithState = SessionsTableRow;

export function sessionRows(db: Database.Database, where = "1 = 1", ...args: unknown[]): SessionRowWithState[] {
  const rows = db.prepare(`SELECT session_id, version, created_at, updated_at, deleted_at FROM sessions WHERE ${where} ORDER BY session_id`).all(...args) as Array<Omit<SessionRowWithState, "state">>;
  return rows.map((r) => ({ ...r, state: JSON.stringify(r.deleted_at === null ? (readSessionState(db, r.session_id)?.state ?? null) : null) }));
}
