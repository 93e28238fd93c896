/** Shared helpers for the journal tests: a tiny record builder that keeps seq / lane_seq gap-free. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { JournalRecord } from "../../src/journal/types.js";
import type { JournalPhase } from "../../src/lifecycle/status.js";

export function tempDir(prefix = "causeway-journal-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export type Partial0 = Omit<JournalRecord, "seq" | "laneSeq" | "lane" | "phase" | "recordedAt" | "type" | "actor" | "fingerprint" | "sessionId" | "commandId"> &
  Partial<Pick<JournalRecord, "type" | "actor" | "fingerprint" | "sessionId" | "recordedAt" | "lane">>;

/** Assigns the next global seq and lane seq, like the engine's committer. */
export class RecordBuilder {
  seq = 0;
  readonly laneSeqs = new Map<string, number>();
  clock = 1_700_000_000_000;

  constructor(start?: { seq: number; lanes?: Array<{ lane: string; laneSeq: number }> }) {
    if (start) {
      this.seq = start.seq;
      for (const l of start.lanes ?? []) this.laneSeqs.set(l.lane, l.laneSeq);
    }
  }

  record(phase: JournalPhase, commandId: string, sessionId: string | null, extra: Partial0 = {}): JournalRecord {
    const lane = extra.lane ?? (sessionId ? `session:${sessionId}` : "server");
    const laneSeq = (this.laneSeqs.get(lane) ?? 0) + 1;
    this.laneSeqs.set(lane, laneSeq);
    this.seq += 1;
    this.clock += 1;
    return {
      type: "test",
      actor: "tester",
      fingerprint: `fp-${commandId}`,
      recordedAt: this.clock,
      ...extra,
      seq: this.seq,
      lane,
      laneSeq,
      commandId,
      sessionId,
      phase,
    };
  }

  /** Undo the numbering of records that were not committed. */
  rewind(records: JournalRecord[]): void {
    for (let i = records.length - 1; i >= 0; i--) {
      const r = records[i]!;
      this.seq = r.seq - 1;
      this.laneSeqs.set(r.lane, r.laneSeq - 1);
    }
  }
}

/** Every materialized and journal table, as plain rows, for equality checks. */
export function dumpTables(db: Database.Database): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  const order: Record<string, string> = {
    journal: "seq",
    commands: "command_id",
    idempotency: "scope, key",
    sessions: "session_id",
    lanes: "lane",
    // schema v6: session state checkpoints
    session_states: "session_id",
  };
  for (const [table, by] of Object.entries(order)) {
    if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) === undefined) continue;
    out[table] = db.prepare(`SELECT * FROM ${table} ORDER BY ${by}`).all();
  }
  return out;
}

export function openRaw(path: string, readonly = true): Database.Database {
  return new Database(path, { readonly, fileMustExist: true });
}
