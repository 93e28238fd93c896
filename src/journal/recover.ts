/**
 * What a reopened SQLite journal resumes from: the last seq, every lane head, the live sessions (their
 * checkpoints and the patches after them) and
 * the unfinished commands (through the commands_unfinished partial index).
 */
import type Database from "better-sqlite3";
import { UNFINISHED_COLUMNS, rowToUnfinished, type UnfinishedRow } from "./codec.js";
import { UNFINISHED_SQL_LIST } from "./migrations/index.js";
import type { RecoveredState } from "./record.js";
import { readLiveSessions } from "./session-states.js";

/**
 * The last seq: the journal's last row, or the latest retention checkpoint when compaction removed
 * every row (the next record continues after the cut, never from 1 again).
 */
export function lastJournalSeq(db: Database.Database): number {
  const sql = "SELECT max(coalesce((SELECT max(seq) FROM journal), 0), coalesce((SELECT max(seq) FROM checkpoints), 0)) AS s";
  return (db.prepare(sql).get() as { s: number }).s;
}

export function readRecoveredState(db: Database.Database, schemaVersion: number): RecoveredState {
  const lastSeq = lastJournalSeq(db);
  const laneRows = db.prepare("SELECT lane, last_lane_seq FROM lanes ORDER BY lane").all() as Array<{ lane: string; last_lane_seq: number }>;
  // each session: its checkpoint, then the patches after it (session-states.ts)
  const sessions = readLiveSessions(db);
  const unfinished = (
    db.prepare(`SELECT ${UNFINISHED_COLUMNS} FROM commands WHERE status IN (${UNFINISHED_SQL_LIST}) ORDER BY accepted_seq`).all() as UnfinishedRow[]
  ).map(rowToUnfinished);
  return {
    sessions,
    laneSeqs: laneRows.map((r) => ({ lane: r.lane, laneSeq: r.last_lane_seq })),
    lastSeq,
    unfinished,
    schemaVersion,
  };
}
