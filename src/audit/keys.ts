/**
 * Idempotency key claims as the journal implies them: an `accepted` row with a key claims
 * (scope, key); its `finished` row gives the entry its expiry. A claim while the previous holder's
 * entry is live (in flight, or not expired at the new row's recorded_at) would let one key run two
 * executions with two outcomes: a replay_consistency violation.
 */
import type { JournalRecord } from "../journal/types.js";
import type { Findings } from "./findings.js";

export interface KeyEntry {
  scope: string;
  key: string;
  commandId: string;
  fingerprint: string | null;
  expiresAt: number | null;
  claimedSeq: number;
}

export class KeyClaims {
  readonly entries = new Map<string, KeyEntry>();

  constructor(private readonly findings: Findings) {}

  claim(r: JournalRecord): void {
    const key = r.idempotencyKey;
    if (key === undefined || key === null) return;
    const scope = r.idempotencyScope ?? null;
    this.findings.expect(scope === r.lane, "replay_consistency", () => ({
      seq: r.seq,
      commandId: r.commandId,
      message: `idempotency key ${JSON.stringify(key)} has scope ${JSON.stringify(scope)}, not the command's lane ${r.lane}`,
      evidence: { key, scope, lane: r.lane },
    }));
    const k = keyOf(scope ?? r.lane, key);
    const prev = this.entries.get(k);
    if (prev) {
      const live = prev.expiresAt === null || prev.expiresAt > r.recordedAt;
      this.findings.expect(!live, "replay_consistency", () => ({
        seq: r.seq,
        commandId: r.commandId,
        message: `idempotency key (${scope}, ${key}) is claimed by ${r.commandId} while ${prev.commandId} still holds it: one key, two executions`,
        evidence: { scope, key, holder: prev.commandId, holderClaimedSeq: prev.claimedSeq, holderExpiresAt: prev.expiresAt, recordedAt: r.recordedAt },
      }));
    }
    this.entries.set(k, { scope: scope ?? r.lane, key, commandId: r.commandId, fingerprint: r.fingerprint, expiresAt: null, claimedSeq: r.seq });
  }

  finish(accepted: JournalRecord, finished: JournalRecord): void {
    const key = accepted.idempotencyKey;
    if (key === undefined || key === null) return;
    const entry = this.entries.get(keyOf(accepted.idempotencyScope ?? accepted.lane, key));
    if (entry && entry.commandId === accepted.commandId && typeof finished.idempotencyExpiresAt === "number") entry.expiresAt = finished.idempotencyExpiresAt;
  }
}

function keyOf(scope: string, key: string): string {
  return `${scope}\u0000${key}`;
}
