/**
 * What a reopened SQLite journal resumes from: the last seq, every lane head, the live sessions (their
 * checkpoints and the patches after them) and
 * the unfinished commands (through the commands_unfinished partial index).
 */
import type Database from "better-sqlite3";
import { sessionOfLane } from "../lifecycle/lanes.js";
import { UNFINISHED_COLUMNS, rowToUnfinished, type UnfinishedRow } from "./codec.js";
import { UNFINISHED_SQL_LIST } from "./migrations/index.js";
import type { RecoveredState } from "./record.js";
import { readLiveSessions, readSessionState } from "./session-states.js";

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

/**
 * What ONE lane resumes from (a node taking a lane over on a shared journal): the lane's head, its
 * session (a `session:<id>` lane), its unfinished commands; `lastSeq` is the journal's.
 */
export function readLaneState(db: Database.Database, lane: string, schemaVersion: number): RecoveredState {
  const lastSeq = lastJournalSeq(db);
  const head = db.prepare("SELECT last_lane_seq FROM lanes WHERE lane = ?").get(lane) as { last_lane_seq: number } | undefined;
  const sessionId = sessionOfLane(lane);
  const session = sessionId === undefined ? undefined : readSessionState(db, sessionId);
  const unfinished = (
    db.prepare(`SELECT ${UNFINISHED_COLUMNS} FROM commands WHERE status IN (${UNFINISHED_SQL_LIST}) AND lane = ? ORDER BY accepted_seq`).all(lane) as UnfinishedRow[]
  ).map(rowToUnfinished);
  return { sessions: session ? [session] : [], laneSeqs: [{ lane, laneSeq: head?.last_lane_seq ?? 0 }], lastSeq, unfinished, schemaVersion };
}

/** The lanes holding unfinished commands (read through the commands_unfinished partial index: a DISTINCT would scan every command). */
export function unfinishedLanes(db: Database.Database): string[] {
  const rows = db.prepare(`SELECT lane FROM commands WHERE status IN (${UNFINISHED_SQL_LIST}) ORDER BY accepted_seq`).all() as Array<{ lane: string }>;
  return [...new Set(rows.map((r) => r.lane))];
}
