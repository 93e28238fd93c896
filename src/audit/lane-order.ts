/**
 * lane_seq_gap_free: the journal's seq follows the previous row's by one, and each lane's lane_seq
 * follows the lane's previous row by one. Fed every row of the scan in seq order; keeps each lane's
 * head (its last lane_seq and when it was written), which the lanes table must equal at the end.
 *
 * A session-filtered scan reads only some lanes, so it checks lane_seq but not seq. A scan that does
 * not start at the beginning of the retained journal looks each lane's previous row up (prior.ts).
 */
import type { JournalRecord } from "../journal/types.js";
import type { Findings } from "./findings.js";
import type { PriorFacts } from "./prior.js";

/** Each lane's last row in the scan: its lane_seq and recorded_at (null: from a checkpoint). */
export type LaneHeads = Map<string, { laneSeq: number; at: number | null }>;

export interface LaneOrderOptions {
  findings: Findings;
  prior: PriorFacts;
  /** the seq before the scan's first row */
  afterSeq: number;
  /** the scan starts at the beginning of the retained journal */
  fromBaseline: boolean;
  /** a session filter: not every lane is read */
  filtered: boolean;
  /** the lane heads of the checkpoint the retained journal starts from (null: none) */
  checkpointLanes: Record<string, number> | null;
  inScope(lane: string): boolean;
}

export class LaneOrder {
  readonly heads: LaneHeads = new Map();
  private seq: number;

  constructor(private readonly o: LaneOrderOptions) {
    this.seq = o.afterSeq;
    if (o.fromBaseline && o.checkpointLanes) {
      for (const [lane, laneSeq] of Object.entries(o.checkpointLanes)) if (o.inScope(lane)) this.heads.set(lane, { laneSeq, at: null });
    }
  }

  check(r: JournalRecord): void {
    const findings = this.o.findings;
    if (!this.o.filtered) {
      const prev = this.seq;
      if (r.seq === prev + 1) findings.check("lane_seq_gap_free");
      else findings.expect(false, "lane_seq_gap_free", () => ({
        seq: r.seq,
        commandId: r.commandId,
        message: r.seq > prev + 1 ? `seq ${r.seq} follows ${prev}: journal rows ${prev + 1}..${r.seq - 1} are missing` : `seq ${r.seq} does not follow ${prev}`,
        evidence: { previousSeq: prev, seq: r.seq },
      }));
    }
    this.seq = r.seq;
    const head = this.heads.get(r.lane);
    const prev = head ? head.laneSeq : this.baseline(r);
    if (prev !== null) {
      if (r.laneSeq === prev + 1) findings.check("lane_seq_gap_free");
      else findings.expect(false, "lane_seq_gap_free", () => ({
        seq: r.seq,
        commandId: r.commandId,
        message: r.laneSeq > prev + 1 ? `lane ${r.lane}: lane_seq ${r.laneSeq} follows ${prev}; lane_seq ${prev + 1}..${r.laneSeq - 1} are missing` : `lane ${r.lane}: lane_seq ${r.laneSeq} does not follow ${prev} (not strictly increasing)`,
        evidence: { lane: r.lane, previousLaneSeq: prev, laneSeq: r.laneSeq },
      }));
    }
    if (head) {
      head.laneSeq = r.laneSeq;
      head.at = r.recordedAt;
    } else this.heads.set(r.lane, { laneSeq: r.laneSeq, at: r.recordedAt });
  }

  /** The lane's last lane_seq before the scan; null after reporting that it is missing. */
  private baseline(r: JournalRecord): number | null {
    if (this.o.fromBaseline) return this.o.checkpointLanes?.[r.lane] ?? 0;
    if (r.laneSeq <= 1) return 0;
    const before = this.o.prior.laneRowSeq(r.lane, r.laneSeq - 1);
    if (before !== undefined && before < r.seq) return r.laneSeq - 1;
    this.o.findings.expect(false, "lane_seq_gap_free", () => ({
      seq: r.seq,
      commandId: r.commandId,
      message: `lane ${r.lane}: lane_seq ${r.laneSeq} has no predecessor (lane_seq ${r.laneSeq - 1} is missing)`,
      evidence: { lane: r.lane, laneSeq: r.laneSeq, predecessorSeq: before ?? null },
    }));
    return null;
  }
}
