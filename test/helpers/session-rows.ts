/**
 * Session rows with their states, as the store holds them since schema v6 (issue #17): the
 * `sessions` row (version, times, deleted_at) and the state a restart rebuilds from the session's
 * checkpoint and the patches after it (src/journal/session-states.ts); a deleted session's state is
 * null. Tests that read `SELECT state FROM sessions` before v6 read this instead. A file whose
 * derived tables lag behind its journal (#17, a live server between two flushes of its projection,
 * or a kill -9 before one) is read as a restart would see it: from a private copy caught up from the
 * journal (src/journal/projection.ts), as the offline audit does.
 */
import Database from "better-sqlite3";
import { caughtUpCopy, projectionLag } from "../../src/journal/projection.js";
import { readSessionState } from "../../src/journal/session-states.js";

import type { SessionsTableRow } from "../../src/journal/audit-reads.js";

export type SessionRowWithState = SessionsTableRow;

export function sessionRows(db: Database.Database, where = "1 = 1", ...args: unknown[]): SessionRowWithState[] {
  if (!projectionLag(db)) return read(db, where, args);
  const copy = caughtUpCopy(db);
  const caughtUp = new Database(copy.path, { readonly: true, fileMustExist: true });
  try {
    return read(caughtUp, where, args);
  } finally {
    caughtUp.close();
    copy.remove();
  }
}

function read(db: Database.Database, where: string, args: unknown[]): SessionRowWithState[] {
  const rows = db.prepare(`SELECT session_id, version, created_at, updated_at, deleted_at FROM sessions WHERE ${where} ORDER BY session_id`).all(...args) as Array<Omit<SessionRowWithState, "state">>;
  return rows.map((r) => ({ ...r, state: JSON.stringify(r.deleted_at === null ? (readSessionState(db, r.session_id)?.state ?? null) : null) }));
}
