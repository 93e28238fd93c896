/**
 * Materialization: a batch of records appended to `journal` and applied to the tables derived from
 * it (commands, idempotency, sessions, lanes; command_dependencies, clock_regressions,
 * command_tags, decisions), inside the store's write transaction. Any violated invariant (seq /
 * lane_seq gap, duplicate command id, refused transition, held idempotency key, bad session
 * effect) or SQLite error throws JournalWriteError naming the record, and the caller's transaction
 * rolls the whole batch back.
 *
 * Every record gets its journal row at once. The `commands`, `idempotency` and `sessions` rows are
 * folded (batch-fold.ts): written once per batch with what all its records set on them. A record
 * whose checks cannot be decided in memory is applied by itself (`direct`): the rows deferred so far
 * are written first, then its per-record statements run, so it meets the same checks and wording.
 */
import { BatchFold } from "./batch-fold.js";
import { toBit, toJson, toJsonNotNull } from "./codec.js";
import { AtRecord, InvariantViolation, orderOf } from "./fold-queue.js";
import { acceptedColumns, keyHeld, sessionRefusal } from "./fold-rows.js";
import { encodeEffect, type Statements } from "./statements.js";
import type { FinishedKeyRow, TransitionStatements } from "./transition-sql.js";
import { JournalWriteError, type JournalRecord } from "./types.js";
import { TERMINAL_STATUSES, TRANSITION_PHASES } from "../lifecycle/status.js";

const TERMINAL = new Set<string>(TERMINAL_STATUSES);
const TRANSITION_SET = new Set<string>(TRANSITION_PHASES);

export interface LaneUpdate {
  laneSeq: number;
  at: number;
}

/** Where a committed batch leaves the journal: its last seq and the new head of every lane it wrote. */
export interface BatchResult {
  lastSeq: number;
  lanes: Map<string, LaneUpdate>;
  /** the derived tables hold this batch and every one before it (nothing deferred) */
  flushed: boolean;
}

/** JSON texts of a record, serialized once for the journal row and the tables. */
interface RecordJson {
  params: string | null;
  dependsOn: string | null;
  outcome: string | null;
  /** session state of a create / whole write, shared by journal.effect and session_states.state */
  state: string | null;
}

export interface MaterializerOptions {
  /** test-only: false applies every record by itself (the per-record reference the folding is compared with) */
  fold?: boolean;
}

/** How a batch is written (projection.ts). */
export interface WriteMode {
  /** false: the records are journal rows already (catch-up): materialize only, no journal row or index row */
  append: boolean;
  /** leave the derived rows and lane heads deferred past this batch (checked now, written by a later flush) */
  defer: boolean;
  /** a flush records how far the derived tables go (meta `materialized_seq`) */
  watermark: boolean;
  /** accepted records whose id and key the journal never held (the admission filter's misses, known-ids.ts) */
  fresh?: ReadonlySet<JournalRecord>;
}

const PER_BATCH: WriteMode = { append: true, defer: false, watermark: false };

export class Materializer {
  /** max(commands.accepted_at) so far, the deferred rows included (undefined: not read since the last flush) */
  private batchMaxAcceptedAt: number | null | undefined;
  private readonly fold: BatchFold;
  private readonly folding: boolean;
  /** within one batch: the lane heads before it and the ones it advanced so far */
  private laneHeads: ReadonlyMap<string, number> = new Map();
  private batchLanes = new Map<string, LaneUpdate>();
  /** lane heads of batches whose derived rows are deferred */
  private readonly deferredLanes = new Map<string, LaneUpdate>();
  /** records of the deferred batches: the first record of the next batch is #base of the queue */
  private base = 0;
  private appending = true;
  /** this batch's accepted records the journal never held (WriteMode.fresh) */
  private fresh: ReadonlySet<JournalRecord> | undefined;
  /** this batch applied a record by itself (settleBefore) */
  private wroteDirect = false;

  constructor(
    private readonly st: Statements,
    private readonly tx: TransitionStatements,
    inTransaction: () => boolean,
    opts: MaterializerOptions = {},
  ) {
    this.fold = new BatchFold(st, tx, inTransaction);
    this.folding = opts.fold ?? true;
  }

  /** Records whose derived rows are deferred (0: the tables are up to date). */
  get deferred(): number {
    return this.base;
  }

  /** Append + materialize every record after `lastSeq` (lane heads: `laneHeads`), then the lane heads (or defer them). */
  write(records: JournalRecord[], lastSeq: number, laneHeads: ReadonlyMap<string, number>, mode: WriteMode = PER_BATCH): BatchResult {
    const lanes = new Map<string, LaneUpdate>();
    let seq = lastSeq;
    let i = 0;
    if (this.base === 0) this.batchMaxAcceptedAt = undefined;
    this.laneHeads = laneHeads;
    this.batchLanes = lanes;
    this.appending = mode.append;
    this.fresh = mode.fresh;
    const from = this.fold.mark();
    this.wroteDirect = false;
    let defer = mode.defer;
    try {
      for (; i < records.length; i++) seq = this.append(records[i]!, this.base + i, seq, lanes, laneHeads);
      defer &&= !this.wroteDirect && !this.fold.queue.early;
      if (defer) this.fold.check(from);
      else this.fold.settle();
    } catch (err) {
      // the first violated check in record order: a deferred one of an earlier record comes first
      const at = err instanceof AtRecord ? err : (this.fold.queue.earlierRefusal(this.base + i) ?? new AtRecord(this.base + i, err));
      const k = at.index - this.base;
      const r = records[k];
      const where = r ? `record #${k} (seq ${r.seq}, ${r.phase} ${r.commandId})` : `record #${k}`;
      this.lose();
      throw new JournalWriteError(`journal commit rolled back: ${where}: ${at.message}`, at.error);
    }
    for (const [lane, u] of lanes) this.deferredLanes.set(lane, u);
    if (defer) this.base += records.length;
    else this.flushed(seq, mode.watermark);
    return { lastSeq: seq, lanes, flushed: !defer };
  }

  /** Write everything deferred, the lane heads and (`watermark`) meta `materialized_seq` = `lastSeq`, inside the caller's transaction. */
  flush(lastSeq: number, watermark: boolean): void {
    try {
      this.fold.settle();
    } catch (err) {
      this.lose();
      throw new JournalWriteError(`projection flush failed: ${err instanceof Error ? err.message : String(err)}`, err);
    }
    this.flushed(lastSeq, watermark);
  }

  /** Forget everything deferred (its batch or flush rolled back): the caller catches the tables up from the journal. */
  lose(): void {
    this.fold.reset();
    this.deferredLanes.clear();
    this.base = 0;
    this.batchMaxAcceptedAt = undefined;
  }

  /**
   * A record applied by itself: every deferred row before it is written first, and its own rows at
   * once, so this batch ends with a flush (the tables must never hold rows past the watermark that
   * a catch-up would write again).
   */
  private settleBefore(i: number): void {
    this.wroteDirect = true;
    this.fold.settle(orderOf(i));
  }

  private flushed(lastSeq: number, watermark: boolean): void {
    this.fold.reset();
    for (const [lane, u] of this.deferredLanes) this.st.upsertLane.run(lane, u.laneSeq, u.at);
    this.deferredLanes.clear();
    this.base = 0;
    if (watermark) this.st.setWatermark.run(String(lastSeq));
  }

  /** One record: gap checks, the journal row, its materialization. Returns its seq. */
  private append(orig: JournalRecord, i: number, seq: number, lanes: Map<string, LaneUpdate>, laneHeads: ReadonlyMap<string, number>): number {
    // rows written before schema 5 (imported traces) carry no revision: they materialize as the
    // next one (after this batch's rows), and the journal keeps the row exactly as it came
    const r = TRANSITION_SET.has(orig.phase) && typeof orig.revision !== "number" ? this.tx.legacyRow(orig, this.fold.revisionOf(orig.commandId)) : orig;
    if (r.seq !== seq + 1) throw new InvariantViolation(`seq must be gap-free: got ${r.seq}, expected ${seq + 1}`);
    const pending = lanes.get(r.lane);
    const laneHead = pending ? pending.laneSeq : (laneHeads.get(r.lane) ?? 0);
    if (r.laneSeq !== laneHead + 1) {
      throw new InvariantViolation(`lane_seq must be gap-free in lane ${r.lane}: got ${r.laneSeq}, expected ${laneHead + 1}`);
    }
    const json = this.appending ? this.insertRow(r, orig) : recordJson(r);
    if (TRANSITION_SET.has(r.phase)) {
      // every status change is a compare-and-swap through the transition table
      if (r.phase === "finished") this.finished(r, i, json);
      else if (this.folding && this.fold.canMove(r)) this.fold.move(r, i);
      else {
        this.settleBefore(i);
        const refused = this.tx.apply(r);
        if (refused) throw new InvariantViolation(`${r.phase}: ${refused}`);
        this.fold.moved(r);
      }
      if (this.appending) this.tx.recordDecision(r);
    } else if (r.phase === "accepted") this.accepted(r, i, json);
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
    const json = recordJson(r);
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

  private accepted(r: JournalRecord, i: number, json: RecordJson): void {
    if (!this.folding || !this.fold.canAccept(r)) {
      this.settleBefore(i);
      this.applyAccepted(r, json);
      this.fold.admitted(r);
      return;
    }
    this.noteAcceptedAt(r);
    const tags = Array.isArray(r.detail?.tags) ? (r.detail.tags as string[]) : null;
    const notBefore = typeof r.detail?.notBefore === "number" ? r.detail.notBefore : null;
    this.fold.accept(r, i, json, tags && tags.length > 0 ? JSON.stringify(tags) : null, notBefore, this.fresh?.has(r) ?? false);
    this.indexAccepted(r, tags);
  }

  /** history: clock_regressions lists every command accepted at an earlier time than a command before it */
  private noteAcceptedAt(r: JournalRecord): void {
    if (!this.appending) return; // written with its journal row
    // max(accepted_at) is read once per batch, before the batch's first accepted row exists
    if (this.batchMaxAcceptedAt === undefined) this.batchMaxAcceptedAt = (this.st.maxAcceptedAt.get() as { m: number | null }).m;
    const max = this.batchMaxAcceptedAt;
    if (max !== null && r.recordedAt < max) this.st.insertClockRegression.run(r.seq, r.recordedAt, max);
    this.batchMaxAcceptedAt = max === null ? r.recordedAt : Math.max(max, r.recordedAt);
  }

  /** history: an accepted command's tags and dependencies, indexed */
  private indexAccepted(r: JournalRecord, tags: string[] | null): void {
    if (!this.appending) return; // written with its journal row
    if (tags) for (const t of tags) this.tx.insertTag(t, r.seq, r.commandId);
    // "who depends on X" is an index lookup on command_dependencies
    if (r.dependsOn) for (const d of r.dependsOn) this.st.insertDependency.run(r.commandId, d, r.seq);
  }

  /** An accepted record by itself (per-record statements). */
  private applyAccepted(r: JournalRecord, json: RecordJson): void {
    const st = this.st;
    this.noteAcceptedAt(r);
    const tags = Array.isArray(r.detail?.tags) ? (r.detail.tags as string[]) : null;
    const notBefore = typeof r.detail?.notBefore === "number" ? r.detail.notBefore : null;
    st.insertCommand.run(...acceptedColumns(r, json, tags && tags.length > 0 ? JSON.stringify(tags) : null, notBefore), r.recordedAt);
    this.indexAccepted(r, tags);
    const key = r.idempotencyKey ?? null;
    if (key === null) return;
    const scope = r.idempotencyScope ?? null;
    if (scope === null) throw new InvariantViolation(`idempotency key ${key} without an idempotency scope`);
    if (st.claimIdempotency.run(scope, key, r.commandId, r.fingerprint ?? null, r.recordedAt).changes !== 1) {
      throw new InvariantViolation(keyHeld(scope, key));
    }
  }

  private finished(r: JournalRecord, i: number, json: RecordJson): void {
    if (this.folding && this.fold.canFinish(r, json.outcome)) return this.fold.finish(r, i, json.outcome!, json.state, this.checkpointLaneSeq(r));
    this.settleBefore(i);
    this.fold.moved(r, this.applyFinished(r, json));
  }

  /** A finished record by itself (per-record statements); returns the command's key as its update returned it. */
  private applyFinished(r: JournalRecord, json: RecordJson): FinishedKeyRow {
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
    return row;
  }

  /**
   * The lane_seq of the session's lane as of finished record `r` (its effect included): where the
   * patches after a checkpoint written now begin. A session's writes are rows of its own lane; a
   * create (server lane) is checkpointed at the session lane's head.
   */
  private checkpointLaneSeq(r: JournalRecord): number {
    const e = r.effect;
    if (!e) return 0;
    const lane = `session:${e.sessionId}`;
    if (r.lane === lane) return r.laneSeq;
    return this.batchLanes.get(lane)?.laneSeq ?? this.laneHeads.get(lane) ?? 0;
  }

  /** A finished record's session effect: create, write / patch (to a higher version) or delete. */
  private applyEffect(r: JournalRecord, stateJson: string | null): void {
    const e = r.effect;
    if (!e) return;
    const st = this.st;
    switch (e.kind) {
      case "create":
        if (st.createSession.run(e.sessionId, e.version, e.createdAt ?? r.recordedAt, r.recordedAt).changes !== 1) {
          throw new InvariantViolation(sessionRefusal(st.sessionRow, e));
        }
        st.putSessionState.run(e.sessionId, e.version, this.checkpointLaneSeq(r), stateJson);
        return;
      case "write":
      case "patch":
        if (e.kind === "patch" && !Array.isArray(e.ops)) throw new InvariantViolation(`patch effect for session ${e.sessionId} without ops`);
        if (st.writeSession.run(e.version, r.recordedAt, e.sessionId, e.version).changes !== 1) {
          throw new InvariantViolation(sessionRefusal(st.sessionRow, e));
        }
        if (e.kind === "write") st.putSessionState.run(e.sessionId, e.version, this.checkpointLaneSeq(r), stateJson);
        return;
      case "delete":
        if (st.deleteSession.run(r.recordedAt, r.recordedAt, e.sessionId).changes !== 1) {
          throw new InvariantViolation(sessionRefusal(st.sessionRow, e));
        }
        st.dropSessionState.run(e.sessionId);
        return;
      default:
        throw new InvariantViolation(`unknown session effect ${String((e as { kind: unknown }).kind)}`);
    }
  }
}

function recordJson(r: JournalRecord): RecordJson {
  const effect = r.effect;
  return {
    params: toJson(r.params),
    dependsOn: toJson(r.dependsOn),
    outcome: toJson(r.outcome),
    state: effect && (effect.kind === "create" || effect.kind === "write") ? toJsonNotNull(effect.state) : null,
  };
}
