/**
 * Facts from outside the audited scope, by indexed lookups: rows of a command before the window
 * (journal_command index), a lane's previous row ((lane, lane_seq) unique index), and a session's
 * last change before the window (a bounded backward scan). Used by windowed and session-filtered
 * audits; a full audit needs only `finishedRow` (the outcome a replay must repeat).
 */
import type Database from "better-sqlite3";
import { rowToRecord, type JournalRow } from "../journal/reader.js";
import type { JournalRecord } from "../journal/types.js";
import type { SessionEffect } from "../lifecycle/status.js";

export interface FinishedRow {
  seq: number;
  lane: string;
  /** the outcome column's text */
  outcome: string;
}

/** A session as of some seq: known from its last change before it, or unknown. */
export type SessionBaseline =
  | { known: false }
  | { known: true; live: false }
  | { known: true; live: true; state: unknown; version: number; createdAt: number | null; createdAtCtx: number | null };

export class PriorFacts {
  private readonly st: {
    history: Database.Statement;
    finished: Database.Statement;
    laneRow: Database.Statement;
    effects: Database.Statement;
    acceptedAt: Database.Statement;
  };

  constructor(
    db: Database.Database,
    /** rows with seq <= baselineSeq are gone (compacted) or before the journal */
    private readonly baselineSeq: number,
    private readonly checkpointSessions: Record<string, { state: unknown; version: number; createdAt: number }>,
    /** how many rows a session lookup may scan backwards */
    private readonly sessionScanRows = 200_000,
  ) {
    this.st = {
      history: db.prepare(
        "SELECT * FROM journal WHERE command_id = ? AND seq < ? AND phase IN ('accepted','started','requeued','finished') ORDER BY seq LIMIT 256",
      ),
      finished: db.prepare("SELECT seq, lane, outcome FROM journal WHERE command_id = ? AND phase = 'finished' AND seq < ? ORDER BY seq LIMIT 1"),
      laneRow: db.prepare("SELECT seq FROM journal WHERE lane = ? AND lane_seq = ?"),
      effects: db.prepare(
        `SELECT seq, command_id, effect, recorded_at FROM journal
         WHERE seq < @before AND seq >= @floor AND phase = 'finished' AND effect IS NOT NULL AND (lane = @lane OR lane = 'server')
         ORDER BY seq DESC`,
      ),
      acceptedAt: db.prepare("SELECT recorded_at AS at FROM journal WHERE command_id = ? AND phase = 'accepted' ORDER BY seq LIMIT 1"),
    };
  }

  /** The lifecycle rows (accepted / started / requeued / finished) of a command before `beforeSeq`. */
  commandHistory(commandId: string, beforeSeq: number): JournalRecord[] {
    return (this.st.history.all(commandId, beforeSeq) as JournalRow[]).map(rowToRecord);
  }

  /** The command's finished row before `beforeSeq`, with the outcome text as stored. */
  finishedRow(commandId: string, beforeSeq: number): FinishedRow | undefined {
    return this.st.finished.get(commandId, beforeSeq) as FinishedRow | undefined;
  }

  /** seq of the row (lane, laneSeq), if it exists. */
  laneRowSeq(lane: string, laneSeq: number): number | undefined {
    return (this.st.laneRow.get(lane, laneSeq) as { seq: number } | undefined)?.seq;
  }

  /** The session as of just before `beforeSeq`: its last create / write / delete, looked for in a bounded range. */
  sessionBefore(sessionId: string, beforeSeq: number): SessionBaseline {
    const floor = Math.max(this.baselineSeq + 1, beforeSeq - this.sessionScanRows);
    for (const row of this.st.effects.iterate({ before: beforeSeq, floor, lane: `session:${sessionId}` }) as Iterable<{
      seq: number;
      command_id: string;
      effect: string;
      recorded_at: number;
    }>) {
      const e = JSON.parse(row.effect) as SessionEffect;
      if (e.sessionId !== sessionId) continue;
      if (e.kind === "delete") return { known: true, live: false };
      if (e.kind === "create") {
        const acc = this.st.acceptedAt.get(row.command_id) as { at: number } | undefined;
        return { known: true, live: true, state: e.state, version: e.version, createdAt: e.createdAt ?? row.recorded_at, createdAtCtx: acc?.at ?? null };
      }
      return { known: true, live: true, state: e.state, version: e.version, createdAt: null, createdAtCtx: null };
    }
    if (floor > this.baselineSeq + 1) return { known: false };
    const cp = this.checkpointSessions[sessionId];
    if (!cp) return { known: true, live: false };
    return { known: true, live: true, state: cp.state, version: cp.version, createdAt: cp.createdAt, createdAtCtx: null };
  }
}

