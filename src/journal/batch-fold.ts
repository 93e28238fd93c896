/**
 * Batch folding: within one batch, the records of one command (accepted → started → finished, or
 * any run of its status changes) write its `commands` row ONCE, its idempotency entry once, and
 * every session changed by the batch is written once, with its last state.
 *
 * The checks stay the store's: the first change of a row in the batch carries the check against the
 * stored row (the INSERT's unique id, the compare-and-swap's WHERE, the claim's and the session
 * statements' guards), run when the row is written (fold-queue.ts: in record order); every later
 * change of the same row is checked here in memory against what the batch already did to it. When
 * a check cannot be decided in memory (it would fail, or it is unusual: a duplicate id, a key the
 * batch already touched), the materializer writes everything deferred so far and applies the record
 * by itself through the per-record statements: same checks, same wording (materialize.ts).
 */
import { PendingQueue, type Pending } from "./fold-queue.js";
import { CommandInsert, CommandUpdate, KeyClaim, SessionWrite, effectApplies, factsAfter, foldFinish, foldMove, type AcceptedJson, type SessionFacts } from "./fold-rows.js";
import type { Statements } from "./statements.js";
import { isLegacy, sourcesFor, type FinishedKeyRow, type TransitionStatements } from "./transition-sql.js";
import type { JournalRecord } from "./types.js";
import { TERMINAL_STATUSES, type CommandStatus, type SessionEffect } from "../lifecycle/status.js";

const TERMINAL = new Set<string>(TERMINAL_STATUSES);
const EFFECTS = new Set<string>(["create", "write", "patch", "delete"]);

interface Key {
  scope: string;
  key: string;
}

/** A command this batch changed: its status and revision after the batch's rows so far. */
interface CommandEntry {
  status: CommandStatus;
  revision: number;
  /** its idempotency key: null none, undefined not known (admitted before this batch) */
  key: Key | null | undefined;
  pending: CommandInsert | CommandUpdate | null;
}

interface KeyEntry {
  commandId: string;
  claim: KeyClaim | null;
}

interface SessionEntry {
  facts: SessionFacts;
  pending: SessionWrite | null;
}

const keyId = (scope: string, key: string): string => `${scope}\u0000${key}`;
const live = <P extends Pending>(p: P | null): P | null => (p && !p.done ? p : null);

export class BatchFold {
  readonly queue: PendingQueue;
  private readonly commands = new Map<string, CommandEntry>();
  private readonly keys = new Map<string, KeyEntry>();
  private readonly sessions = new Map<string, SessionEntry>();
  /** sources of a status change, as sets (the transition table) */
  private readonly sources = new Map<string, ReadonlySet<string>>();

  constructor(
    private readonly st: Statements,
    private readonly tx: TransitionStatements,
    inTransaction: () => boolean,
  ) {
    this.queue = new PendingQueue(inTransaction);
  }

  reset(): void {
    this.queue.reset();
    this.commands.clear();
    this.keys.clear();
    this.sessions.clear();
  }

  /** The command's revision after this batch's rows so far, when the batch changed it. */
  revisionOf(commandId: string): number | undefined {
    return this.commands.get(commandId)?.revision;
  }

  // -----------------------------------------------------------------------------------------------
  // accepted

  /** Foldable: a new id in this batch, and a key (with its scope) this batch has not touched. */
  canAccept(r: JournalRecord): boolean {
    if (this.commands.has(r.commandId)) return false;
    const key = r.idempotencyKey ?? null;
    if (key === null) return true;
    const scope = r.idempotencyScope ?? null;
    return scope !== null && !this.keys.has(keyId(scope, key));
  }

  /** `fresh`: the admission filter says the journal never held this id nor this key (their checks need no read) */
  accept(r: JournalRecord, index: number, json: AcceptedJson, tags: string | null, notBefore: number | null, fresh = false): void {
    const insert = new CommandInsert(index, r, json, tags, notBefore, this.st, fresh);
    this.queue.push(insert);
    const key = r.idempotencyKey ?? null;
    const scope = r.idempotencyScope ?? null;
    this.commands.set(r.commandId, { status: "queued", revision: 0, key: key === null || scope === null ? null : { scope, key }, pending: insert });
    if (key === null || scope === null) return;
    const claim = new KeyClaim(index, r, scope, key, this.st, fresh);
    this.queue.push(claim);
    this.keys.set(keyId(scope, key), { commandId: r.commandId, claim });
  }

  /** An accepted record the materializer applied by itself. */
  admitted(r: JournalRecord): void {
    const key = r.idempotencyKey ?? null;
    const scope = r.idempotencyScope ?? null;
    this.commands.set(r.commandId, { status: "queued", revision: 0, key: key === null || scope === null ? null : { scope, key }, pending: null });
    if (key !== null && scope !== null) this.keys.set(keyId(scope, key), { commandId: r.commandId, claim: null });
  }

  // -----------------------------------------------------------------------------------------------
  // status changes

  /**
   * Foldable: status and revision given, a target the row may hold without an outcome (a terminal
   * one fails the table's CHECK at this record), and (if this batch changed the command) a legal
   * next revision.
   */
  canMove(r: JournalRecord): boolean {
    const to = r.status;
    if (to === undefined || TERMINAL.has(to) || typeof r.revision !== "number") return false;
    return this.legalAfterBatch(r, to, r.revision);
  }

  move(r: JournalRecord, index: number): void {
    const to = r.status!;
    const rev = r.revision!;
    const prev = this.commands.get(r.commandId)?.status;
    const p = this.pendingOf(r, index, to, rev);
    foldMove(p.changes, r, to, rev, prev);
  }

  /** Foldable: a terminal status with an outcome, a legal next revision, and a session effect that applies. */
  canFinish(r: JournalRecord, outcomeJson: string | null): boolean {
    const to = r.status;
    if (to === undefined || !TERMINAL.has(to) || outcomeJson === null || typeof r.revision !== "number") return false;
    if (!this.legalAfterBatch(r, to, r.revision)) return false;
    const e = r.effect;
    if (!e) return true;
    // a malformed effect (its statement would fail at this record) is applied by itself
    if (!EFFECTS.has(e.kind) || typeof e.sessionId !== "string" || (e.kind !== "delete" && typeof e.version !== "number")) return false;
    if (e.kind === "patch" && !Array.isArray(e.ops)) return false;
    const s = this.sessions.get(e.sessionId);
    return !s || effectApplies(s.facts, e);
  }

  /** `laneSeq`: the lane_seq of the session's lane as of this record (its checkpoint's position) */
  finish(r: JournalRecord, index: number, outcomeJson: string, stateJson: string | null, laneSeq: number): void {
    const to = r.status!;
    const rev = r.revision!;
    const p = this.pendingOf(r, index, to, rev);
    foldFinish(p.changes, r, to, rev, outcomeJson);
    const expiresAt = r.idempotencyExpiresAt;
    if (typeof expiresAt === "number") this.expireKey(this.commands.get(r.commandId)!, r.commandId, expiresAt);
    if (r.effect) this.foldEffect(r.effect, stateJson, r.recordedAt, index, laneSeq);
  }

  /** A status change the materializer applied by itself (`keyRow`: what a finished row's update returned). */
  moved(r: JournalRecord, keyRow?: FinishedKeyRow): void {
    const c = this.commands.get(r.commandId);
    const key = keyRow ? toKey(keyRow) : c?.key;
    this.commands.set(r.commandId, { status: r.status!, revision: r.revision!, key, pending: null });
    const e = r.phase === "finished" ? r.effect : undefined;
    if (e) this.sessions.set(e.sessionId, { facts: factsAfter(this.sessions.get(e.sessionId)?.facts, e), pending: null });
  }

  /** Where the writes of the next batch begin in the queue (for check()). */
  mark(): number {
    return this.queue.length;
  }

  /** A projection that outlives the batch: the checks of the batch's deferred writes from `from` on, in record order (fold-queue.ts check). */
  check(from: number): void {
    this.queue.check(from);
  }

  /** Whether anything is deferred. */
  get idle(): boolean {
    return this.queue.length === 0 && this.commands.size === 0 && this.sessions.size === 0 && this.keys.size === 0;
  }

    /** Write every deferred row whose check comes before `limit` (fold-queue.ts orderOf). */
  settle(limit = Number.POSITIVE_INFINITY): void {
    this.queue.settle(limit);
  }

  // -----------------------------------------------------------------------------------------------

  private legalAfterBatch(r: JournalRecord, to: CommandStatus, rev: number): boolean {
    const c = this.commands.get(r.commandId);
    if (!c) return true; // the first change in this batch: checked against the stored row when written
    return rev === c.revision + 1 && this.sourceSet(r, to).has(c.status);
  }

  private sourceSet(r: JournalRecord, to: CommandStatus): ReadonlySet<string> {
    const k = r.phase === "finished" && isLegacy(r) ? `legacy:${to}` : to;
    let set = this.sources.get(k);
    if (!set) this.sources.set(k, (set = new Set(sourcesFor(r, to))));
    return set;
  }

  /** The command's deferred write (a new UPDATE guarded by `r` when there is none), its entry advanced to `to`/`rev`. */
  private pendingOf(r: JournalRecord, index: number, to: CommandStatus, rev: number): CommandInsert | CommandUpdate {
    const c = this.commands.get(r.commandId);
    let p = live(c?.pending ?? null);
    if (!p) {
      p = new CommandUpdate(index, r, to, rev, this.tx);
      this.queue.push(p);
    }
    if (c) {
      c.status = to;
      c.revision = rev;
      c.pending = p;
    } else this.commands.set(r.commandId, { status: to, revision: rev, key: undefined, pending: p });
    return p;
  }

  /** The finished command's key entry starts expiring (its claim in this batch, or the stored entry). */
  private expireKey(c: CommandEntry, commandId: string, expiresAt: number): void {
    if (c.key === undefined) {
      // admitted before (its row is not deferred): the key is on its stored row, set once at admission
      const row = this.tx.current(commandId);
      c.key = row ? toKey(row) : null;
    }
    const key = c.key;
    if (!key) return;
    const entry = this.keys.get(keyId(key.scope, key.key));
    const claim = live(entry?.claim ?? null);
    if (claim && entry!.commandId === commandId) {
      claim.expiresAt = expiresAt;
      return;
    }
    if (claim) this.queue.flushOne(claim); // another command's claim of the row comes first
    this.st.expireIdempotency.run(expiresAt, key.scope, key.key, commandId);
  }

  private foldEffect(e: SessionEffect, stateJson: string | null, at: number, index: number, laneSeq: number): void {
    const s = this.sessions.get(e.sessionId);
    let w = live(s?.pending ?? null);
    if (!w) {
      w = new SessionWrite(index, e, this.st);
      this.queue.push(w);
    }
    w.fold(e, stateJson, at, laneSeq);
    this.sessions.set(e.sessionId, { facts: factsAfter(s?.facts, e), pending: w });
  }
}

function toKey(row: FinishedKeyRow): Key | null {
  return row.idempotency_key !== null && row.idempotency_scope !== null ? { scope: row.idempotency_scope, key: row.idempotency_key } : null;
}
