/**
 * Facts from outside the audited scope, by indexed lookups: rows of a command before the window
 * (journal_command index), a lane's previous row ((lane, lane_seq) unique index), and a session's
 * last change before the window (a bounded backward scan). Used by windowed and session-filtered
 * audits; a full audit needs only `finishedRow` (the outcome a replay must repeat).
 */
import type { AuditReads, FinishedRow } from "../journal/audit-reads.js";
import type { JournalRecord } from "../journal/types.js";
import { stateAfter } from "../lifecycle/effects.js";
import type { SessionEffect } from "../lifecycle/status.js";

/** A session as of some seq: known from its last change before it, or unknown. */
export type SessionBaseline =
  | { known: false }
  | { known: true; live: false }
  | { known: true; live: true; state: unknown; version: number; createdAt: number | null; createdAtCtx: number | null };

export class PriorFacts {
  constructor(
    private readonly journal: AuditReads,
    /** rows with seq <= baselineSeq are gone (compacted) or before the journal */
    private readonly baselineSeq: number,
    private readonly checkpointSessions: Record<string, { state: unknown; version: number; createdAt: number }>,
    /** how many rows a session lookup may scan backwards */
    private readonly sessionScanRows = 200_000,
  ) {}

  /** The lifecycle rows (accepted / started / requeued / finished) of a command before `beforeSeq`. */
  commandHistory(commandId: string, beforeSeq: number): JournalRecord[] {
    return this.journal.commandHistoryBefore(commandId, beforeSeq);
  }

  /** The command's finished row before `beforeSeq`, with the outcome text as stored. */
  finishedRow(commandId: string, beforeSeq: number): FinishedRow | undefined {
    return this.journal.finishedRowBefore(commandId, beforeSeq);
  }

  /** seq of the row (lane, laneSeq), if it exists. */
  laneRowSeq(lane: string, laneSeq: number): number | undefined {
    return this.journal.laneRowSeq(lane, laneSeq);
  }

  /**
   * The session as of just before `beforeSeq`: its last create / write / delete, looked for in a
   * bounded range, with the patches after it applied (a write is journaled as a patch or whole).
   */
  sessionBefore(sessionId: string, beforeSeq: number): SessionBaseline {
    const floor = Math.max(this.baselineSeq + 1, beforeSeq - this.sessionScanRows);
    const patches: Array<Extract<SessionEffect, { kind: "patch" }>> = [];
    for (const row of this.journal.sessionEffectsBefore(`session:${sessionId}`, beforeSeq, floor)) {
      const e = JSON.parse(row.effect) as SessionEffect;
      if (e.sessionId !== sessionId) continue;
      if (e.kind === "delete") return { known: true, live: false };
      if (e.kind === "patch") {
        patches.push(e);
        continue;
      }
      const base = e.kind === "create" ? { createdAt: e.createdAt ?? row.recorded_at, createdAtCtx: this.journal.acceptedAt(row.command_id) ?? null } : { createdAt: null, createdAtCtx: null };
      return this.patched({ known: true, live: true, state: e.state, version: e.version, ...base }, patches);
    }
    if (floor > this.baselineSeq + 1) return { known: false };
    const cp = this.checkpointSessions[sessionId];
    if (!cp) return patches.length > 0 ? { known: false } : { known: true, live: false };
    return this.patched({ known: true, live: true, state: cp.state, version: cp.version, createdAt: cp.createdAt, createdAtCtx: null }, patches);
  }

  /** `b` with `patches` (newest first) applied; unknown if one does not apply. */
  private patched(b: Extract<SessionBaseline, { live: true }>, patches: Array<Extract<SessionEffect, { kind: "patch" }>>): SessionBaseline {
    let state = b.state;
    let version = b.version;
    try {
      for (let i = patches.length - 1; i >= 0; i--) {
        if (patches[i]!.version <= version) continue;
        state = stateAfter(patches[i]!, state);
        version = patches[i]!.version;
      }
    } catch {
      return { known: false };
    }
    return { ...b, state, version };
  }
}

