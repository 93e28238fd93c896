/**
 * replay_consistency for replayed and conflict rows: a replay answers exactly the outcome its
 * original's finished row stored (compared as JSON text, byte for byte), in the original's lane.
 * (Idempotency key claims, the other half of the invariant, are in keys.ts.)
 */
import type { JournalRecord } from "../journal/types.js";
import { jsonText, type Findings } from "./findings.js";
import type { PriorFacts } from "./prior.js";

export class ReplayChecks {
  constructor(
    private readonly prior: PriorFacts,
    private readonly findings: Findings,
    /** the journal was compacted: an original may be gone */
    private readonly compacted: boolean,
  ) {}
  /** A replayed row repeats its original's finished outcome byte for byte, in the original's lane. */
  replayed(r: JournalRecord): void {
    const of = r.detail?.replayOf;
    const base = { seq: r.seq, commandId: r.commandId };
    if (typeof of !== "string") {
      this.findings.expect(false, "replay_consistency", () => ({ ...base, message: `replayed row ${r.seq} does not name the command it replays (detail.replayOf)`, evidence: { detail: r.detail ?? null } }));
      return;
    }
    const original = this.prior.finishedRow(of, r.seq);
    if (!original) {
      if (this.compacted) return this.findings.cannotVerify("replay_of_compacted_command");
      this.findings.expect(false, "replay_consistency", () => ({ ...base, message: `replayed row answers for ${of}, which has no earlier finished row`, evidence: { replayOf: of, outcome: r.outcome ?? null } }));
      return;
    }
    const replayed = jsonText(r.outcome);
    if (replayed === original.outcome) this.findings.check("replay_consistency");
    else this.findings.expect(false, "replay_consistency", () => ({
      ...base,
      message: `replay of ${of} answered a different outcome than ${of}'s finished row (seq ${original.seq})`,
      evidence: { replayOf: of, by: r.detail?.by ?? null, originalSeq: original.seq, original: safeParse(original.outcome), replayed: r.outcome ?? null },
    }));
    if (r.lane === original.lane) this.findings.check("replay_consistency");
    else this.findings.expect(false, "replay_consistency", () => ({
      ...base,
      message: `replay of ${of} is in lane ${r.lane}, the original in ${original.lane}`,
      evidence: { replayOf: of, lane: r.lane, originalLane: original.lane },
    }));
  }

  /** A conflict row answers replay_conflict. */
  conflict(r: JournalRecord): void {
    const o = r.outcome;
    if (o !== undefined && !o.success && o.code === "replay_conflict") this.findings.check("replay_consistency");
    else this.findings.expect(false, "replay_consistency", () => ({
      seq: r.seq,
      commandId: r.commandId,
      message: `conflict row ${r.seq} does not answer replay_conflict`,
      evidence: { outcome: o ?? null },
    }));
  }
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
