/**
 * Materialization: a batch of records appended to `journal` and applied to the tables derived from
 * it (commands, idempotency, sessions, lanes; command_dependencies, clock_regressions,
 * command_tags, decisions), inside the store's write transaction. Any violated invariant (seq /
 * lane_seq gap, duplicate command id, refused transition, held idempotency key, bad session
 * effect) or SQLite error throws JournalWriteError naming the record, and the caller's transaction
 * rolls the whole batch back.
 */
import { toBit, toJson, toJsonNotNull } from "./codec.js";
import { encodeEffect, type Statements } from "./statements.js";
import type { TransitionStatements } from "./transition-sql.js";
import { JournalWriteError, type JournalRecord } from "./types.js";
import { TERMINAL_STATUSES, TRANSITION_PHASES } from "../lifecycle/status.js";

const TERMINAL = new Set<string>(TERMINAL_STATUSES);
const TRANSITION_SET = new Set<string>(TRANSITION_PHASES);

/** An invariant violated by a batch; always rolls the transaction back. */
class InvariantViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvariantViolation";
  }
}

export interface LaneUpdate {
  laneSeq: number;
  at: number;
}

/** Where a committed batch leaves the journal: its last seq and the new head of every lane it wrote. */
export interface BatchResult {
  lastSeq: number;
  lanes: Map<string, LaneUpdate>;
}

/** JSON texts of a record, serialized once for the journal row and the tables. */
interface RecordJson {
  params: string | null;
  dependsOn: string | null;
  outcome: string | null;
  /** session state, shared by journal.effect and sessions.state */
  state: string | null;
}

export class Materializer {
  /** within one batch: max(commands.accepted_at) so far (undefined: not read yet) */
  private batchMaxAcceptedAt: number | null | undefined;

  constructor(
    private readonly st: Statements,
    private readonly tx: TransitionStatements,
  ) {}

  /** Append + materialize every record after `lastSeq` (lane heads: `laneHeads`), then the lane heads. */
  write(records: JournalRecord[], lastSeq: number, laneHeads: ReadonlyMap<string, number>): BatchResult {
    const lanes = new Map<string, LaneUpdate>();
    let seq = lastSeq;
    let i = 0;
    this.batchMaxAcceptedAt = undefined;
    try {
      for (; i < records.length; i++) seq = this.append(records[i]!, seq, lanes, laneHeads);
    } catch (err) {
      const r = records[i];
      const where = r ? `record #${i} (seq ${r.seq}, ${r.phase} ${r.commandId})` : `record #${i}`;
      const msg = err instanceof Error ? err.message : String(err);
      throw new JournalWriteError(`journal commit rolled back: ${where}: ${msg}`, err);
    }
    for (const [lane, u] of lanes) this.st.upsertLane.run(lane, u.laneSeq, u.at);
    return { lastSeq: seq, lanes };
  }

  /** One record: gap checks, the journal row, its materialization. Returns its seq. */
  private append(orig: JournalRecord, seq: number, lanes: Map<string, LaneUpdate>, laneHeads: ReadonlyMap<string, number>): number {
    // rows written before schema 5 (imported traces) carry no revision: they materialize as the
    // next one, and the journal keeps the row exactly as it came
    const r = TRANSITION_SET.has(orig.phase) && typeof orig.revision !== "number" ? this.tx.legacyRow(orig) : orig;
    if (r.seq !== seq + 1) throw new InvariantViolation(`seq must be gap-free: got ${r.seq}, expected ${seq + 1}`);
    const pending = lanes.get(r.lane);
    const laneHead = pending ? pending.laneSeq : (laneHeads.get(r.lane) ?? 0);
    if (r.laneSeq !== laneHead + 1) {
      throw new InvariantViolation(`lane_seq must be gap-free in lane ${r.lane}: got ${r.laneSeq}, expected ${laneHead + 1}`);
    }
    const json = this.insertRow(r, orig);
    if (TRANSITION_SET.has(r.phase)) {
      // every status change is a compare-and-swap through the transition table
      if (r.phase === "finished") this.applyFinished(r, json);
      else {
        const refused = this.tx.apply(r);
        if (refused) throw new InvariantViolation(`${r.phase}: ${refused}`);
      }
      this.tx.recordDecision(r);
    } else if (r.phase === "accepted") this.applyAccepted(r, json);
    else if (r.phase !== "replayed" && r.phase !== "conflict") throw new InvariantViolation(`unknown journal phase ${String((r as JournalRecord).phase)}`);
    if (pending) {
      pending.laneSeq = r.laneSeq;
      pending.at = r.recordedAt;
    } else {
      lanes.set(r.lane, { laneSeq: r.laneSeq, at: r.recordedAt });
    }
    return r.seq;
  }

  /** The journal row, exactly as the record came (`orig`: status and revision as given). */
  private insertRow(r: JournalRecord, orig: JournalRecord): RecordJson {
    const effect = r.effect;
    const json: RecordJson = {
      params: toJson(r.params),
      dependsOn: toJson(r.dependsOn),
      outcome: toJson(r.outcome),
      state: effect && effect.kind !== "delete" ? toJsonNotNull(effect.state) : null,
    };
    this.st.insertJournal.run(
      r.seq,
      r.lane,
      r.laneSeq,
      r.commandId,
      r.sessionId ?? null,
      r.phase,
      r.recordedAt,
      r.type,
      r.actor,
      r.fingerprint ?? null,
      toBit(r.explicitId),
      r.idempotencyKey ?? null,
      r.idempotencyScope ?? null,
      json.dependsOn,
      r.ifSessionVersion ?? null,
      json.params,
      r.timeoutMs ?? null,
      orig.status ?? null,
      json.outcome,
      effect ? encodeEffect(effect, json.state) : null,
      r.idempotencyExpiresAt ?? null,
      toJson(r.detail),
      orig.revision ?? null,
    );
    return json;
  }

  private applyAccepted(r: JournalRecord, json: RecordJson): void {
    const st = this.st;
    // history: clock_regressions lists every command accepted at an earlier time than a command
    // before it (max(accepted_at) is read once per batch, before this row exists)
    if (this.batchMaxAcceptedAt === undefined) this.batchMaxAcceptedAt = (st.maxAcceptedAt.get() as { m: number | null }).m;
    const max = this.batchMaxAcceptedAt;
    if (max !== null && r.recordedAt < max) st.insertClockRegression.run(r.seq, r.recordedAt, max);
    this.batchMaxAcceptedAt = max === null ? r.recordedAt : Math.max(max, r.recordedAt);
    const tags = Array.isArray(r.detail?.tags) ? (r.detail.tags as string[]) : null;
    const notBefore = typeof r.detail?.notBefore === "number" ? r.detail.notBefore : null;
    st.insertCommand.run(
      r.commandId,
      r.lane,
      r.sessionId ?? null,
      r.type,
      r.actor,
      r.fingerprint ?? null,
      r.explicitId ? 1 : 0,
      r.idempotencyKey ?? null,
      r.idempotencyScope ?? null,
      json.dependsOn,
      r.ifSessionVersion ?? null,
      json.params,
      r.timeoutMs ?? null,
      r.seq,
      r.recordedAt,
      tags && tags.length > 0 ? JSON.stringify(tags) : null,
      notBefore,
      r.recordedAt,
    );
    if (tags) for (const t of tags) this.tx.insertTag(t, r.seq, r.commandId);
    // history: "who depends on X" is an index lookup on command_dependencies
    if (r.dependsOn) for (const d of r.dependsOn) st.insertDependency.run(r.commandId, d, r.seq);
    const key = r.idempotencyKey ?? null;
    if (key === null) return;
    const scope = r.idempotencyScope ?? null;
    if (scope === null) throw new InvariantViolation(`idempotency key ${key} without an idempotency scope`);
    if (st.claimIdempotency.run(scope, key, r.commandId, r.fingerprint ?? null, r.recordedAt).changes !== 1) {
      throw new InvariantViolation(`idempotency key (${scope}, ${key}) is still held by another command`);
    }
  }

  private applyFinished(r: JournalRecord, json: RecordJson): void {
    const status = r.status;
    if (status === undefined || !TERMINAL.has(status)) {
      throw new InvariantViolation(`finished record needs a terminal status, got ${String(status)}`);
    }
    if (json.outcome === null) throw new InvariantViolation("finished record without an outcome");
    const row = this.tx.finish(r, status, json.outcome);
    if (!row) throw new InvariantViolation(`finished: ${this.tx.describeRefusal(r.commandId, status, r.revision)}`);
    // the command's key entry (if it has one) starts expiring; with no expiry given it stays NULL
    // (held, never expires)
    const expiresAt = r.idempotencyExpiresAt;
    if (typeof expiresAt === "number" && row.idempotency_key !== null && row.idempotency_scope !== null) {
      this.st.expireIdempotency.run(expiresAt, row.idempotency_scope, row.idempotency_key, r.commandId);
    }
    this.applyEffect(r, json.state);
  }

  /** A finished record's session effect: create, write (to a higher version) or delete. */
  private applyEffect(r: JournalRecord, stateJson: string | null): void {
    const e = r.effect;
    if (!e) return;
    const st = this.st;
    switch (e.kind) {
      case "create":
        if (st.createSession.run(e.sessionId, stateJson, e.version, e.createdAt ?? r.recordedAt, r.recordedAt).changes !== 1) {
          throw new InvariantViolation(`create: session ${e.sessionId} already exists`);
        }
        return;
      case "write":
        if (st.writeSession.run(stateJson, e.version, r.recordedAt, e.sessionId, e.version).changes !== 1) {
          const cur = st.sessionRow.get(e.sessionId) as { version: number; deleted_at: number | null } | undefined;
          const why = !cur ? "does not exist" : cur.deleted_at !== null ? "is deleted" : `is at version ${cur.version}, not below ${e.version}`;
          throw new InvariantViolation(`write: session ${e.sessionId} ${why}`);
        }
        return;
      case "delete":
        if (st.deleteSession.run(r.recordedAt, r.recordedAt, e.sessionId).changes !== 1) {
          throw new InvariantViolation(`delete: session ${e.sessionId} does not exist`);
        }
        return;
      default:
        throw new InvariantViolation(`unknown session effect ${String((e as { kind: unknown }).kind)}`);
    }
  }
}
