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

  /** `kindOf`: the scope a command type's keys must have (session commands: their lane; server commands: "server"); undefined when the type is not registered */
  constructor(
    private readonly findings: Findings,
    private readonly kindOf: (type: string) => "session" | "server" | undefined = () => undefined,
  ) {}

  claim(r: JournalRecord): void {
    const key = r.idempotencyKey;
    if (key === undefined || key === null) return;
    const scope = r.idempotencyScope ?? null;
    // session commands: scoped by their session's lane; server commands (create_session,
    // delete_session included, although they run in a session lane): server-wide. Journals from
    // before that rule scoped every key by its lane, which is accepted too.
    const kind = this.kindOf(r.type);
    const ok = scope === r.lane || (scope === "server" && kind !== "session");
    this.findings.expect(ok, "replay_consistency", () => ({
      seq: r.seq,
      commandId: r.commandId,
      message: `idempotency key ${JSON.stringify(key)} has scope ${JSON.stringify(scope)}, neither the command's lane ${r.lane} nor the server scope of a server command`,
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
