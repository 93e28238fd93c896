/**
 * The deferred writes of batch folding (batch-fold.ts), one per derived row a batch changes: a
 * command admitted in the batch (one INSERT with the status its later rows gave it), a command
 * admitted before (one compare-and-swap UPDATE for all its status changes), an idempotency claim
 * (with the expiry its finished row gave it) and a session (its last state). Each carries the check
 * of the record that first changed the row; the later changes were checked in memory.
 */
import type Database from "better-sqlite3";
import { InvariantViolation, Pending, ROW_COMMAND, ROW_KEY, ROW_SESSION } from "./fold-queue.js";
import type { Statements } from "./statements.js";
import { moveParams, sourcesFor, type FinishedKeyRow, type TransitionStatements } from "./transition-sql.js";
import type { JournalRecord } from "./types.js";
import type { CommandStatus, SessionEffect } from "../lifecycle/status.js";

/** What a run of one command's rows in a batch sets on its `commands` row. */
export interface CommandChanges {
  status: CommandStatus;
  revision: number;
  /** started_at: 0 as stored, 1 `startedAt`, 2 NULL when the stored status is running (else as stored) */
  startedMode: 0 | 1 | 2;
  startedAt: number | null;
  pendingReason: string | null;
  expiresAt: number | null;
  /** governance, policy_version, queued_at: NULL keeps the stored value (an INSERT has none) */
  governance: string | null;
  policyVersion: string | null;
  queuedAt: number | null;
  /** set by a finished row */
  outcome: string | null;
  finishedSeq: number | null;
  finishedAt: number | null;
}

const changes = (status: CommandStatus, revision: number, startedMode: 0 | 1, queuedAt: number | null): CommandChanges => ({
  status,
  revision,
  startedMode,
  startedAt: null,
  pendingReason: null,
  expiresAt: null,
  governance: null,
  policyVersion: null,
  queuedAt,
  outcome: null,
  finishedSeq: null,
  finishedAt: null,
});

/**
 * A non-terminal status change, as TransitionStatements.apply's UPDATE sets it. `prev`: the status
 * it leaves, undefined when that is the stored one (the first change of a command admitted before).
 */
export function foldMove(c: CommandChanges, r: JournalRecord, to: CommandStatus, rev: number, prev: CommandStatus | undefined): void {
  const p = moveParams(r, to, rev);
  c.status = to;
  c.revision = rev;
  if (to === "running") {
    c.startedMode = 1;
    c.startedAt = p.at;
  } else if (prev === undefined) c.startedMode = 2;
  else if (prev === "running") {
    c.startedMode = 1;
    c.startedAt = null;
  }
  c.pendingReason = p.reason;
  c.expiresAt = p.expiresAt;
  if (p.gov !== null) c.governance = p.gov;
  if (p.policy !== null) c.policyVersion = p.policy;
  if (p.phase === "approved" || p.phase === "released") c.queuedAt = p.at;
}

/** The terminal status change, as TransitionStatements.finish's UPDATE sets it. */
export function foldFinish(c: CommandChanges, r: JournalRecord, to: CommandStatus, rev: number, outcomeJson: string): void {
  c.status = to;
  c.revision = rev;
  c.outcome = outcomeJson;
  c.finishedSeq = r.seq;
  c.finishedAt = r.recordedAt;
  c.pendingReason = null;
  c.expiresAt = null;
}

/** The JSON texts of an accepted record's row (serialized once for the journal row). */
export interface AcceptedJson {
  params: string | null;
  dependsOn: string | null;
}

/** A command admitted in this batch: one INSERT (a duplicate id fails it: UNIQUE constraint). */
export class CommandInsert extends Pending {
  readonly changes: CommandChanges;

  constructor(
    index: number,
    private readonly r: JournalRecord,
    private readonly json: AcceptedJson,
    private readonly tags: string | null,
    private readonly notBefore: number | null,
    private readonly st: Statements,
    /** the admission filter said no journal row ever had this id (check() needs no read) */
    private readonly fresh = false,
  ) {
    super(index, ROW_COMMAND);
    this.changes = changes("queued", 0, 1, r.recordedAt);
  }

  write(): void {
    const r = this.r;
    const c = this.changes;
    this.st.foldedInsertCommand.run(
      ...acceptedColumns(r, this.json, this.tags, this.notBefore),
      c.status,
      c.revision,
      c.startedAt,
      c.pendingReason,
      c.expiresAt,
      c.governance,
      c.policyVersion,
      c.queuedAt,
      c.outcome,
      c.finishedSeq,
      c.finishedAt,
    );
  }

  check(): boolean {
    return this.fresh || this.st.commandExists.get(this.r.commandId) === undefined;
  }
}

/** A command admitted before this batch: one UPDATE, guarded by its first change's compare-and-swap. */
export class CommandUpdate extends Pending {
  readonly changes: CommandChanges;
  /** after a write that ends with the outcome: the command's idempotency key */
  returned: FinishedKeyRow | undefined;

  /** `first` moves the command to `to` at revision `rev` */
  constructor(
    index: number,
    private readonly first: JournalRecord,
    private readonly to: CommandStatus,
    private readonly rev: number,
    private readonly tx: TransitionStatements,
  ) {
    super(index, ROW_COMMAND);
    this.changes = changes(to, rev, 0, null);
  }

  write(): void {
    const c = this.changes;
    const finished = c.outcome !== null;
    const st = this.tx.foldedUpdate(this.first, this.to, finished);
    const head = [c.status, c.revision, c.startedMode, c.startedAt, c.pendingReason, c.expiresAt, c.governance, c.policyVersion, c.queuedAt];
    const id = this.first.commandId;
    let applied: boolean;
    if (finished) {
      this.returned = st.get(...head, c.outcome, c.finishedSeq, c.finishedAt, id, this.rev) as FinishedKeyRow | undefined;
      applied = this.returned !== undefined;
    } else applied = st.run(...head, id, this.rev).changes === 1;
    if (!applied) throw new InvariantViolation(`${this.first.phase}: ${this.tx.describeRefusal(id, this.to, this.rev)}`);
  }

  check(): boolean {
    const cur = this.tx.current(this.first.commandId);
    return cur !== undefined && cur.revision === this.rev - 1 && sourcesFor(this.first, this.to).includes(cur.status);
  }
}

/** An idempotency key claimed in this batch, with the expiry its command's finished row gave it. */
export class KeyClaim extends Pending {
  expiresAt: number | null = null;

  constructor(
    index: number,
    private readonly r: JournalRecord,
    readonly scope: string,
    readonly key: string,
    private readonly st: Statements,
    /** the admission filter said no journal row ever claimed this key (check() needs no read) */
    private readonly fresh = false,
  ) {
    super(index, ROW_KEY);
  }

  write(): void {
    const r = this.r;
    if (this.st.foldedClaimIdempotency.run(this.scope, this.key, r.commandId, r.fingerprint ?? null, this.expiresAt, r.recordedAt).changes !== 1) {
      throw new InvariantViolation(keyHeld(this.scope, this.key));
    }
  }

  check(): boolean {
    if (this.fresh) return true;
    const row = this.st.idempotencyExpiry.get(this.scope, this.key) as { expires_at: number | null } | undefined;
    return row === undefined || (row.expires_at !== null && row.expires_at <= this.r.recordedAt);
  }
}

export const keyHeld = (scope: string, key: string): string => `idempotency key (${scope}, ${key}) is still held by another command`;

/** A session as this batch's effects left it (its stored row once they are written). */
export interface SessionFacts {
  deleted: boolean;
  /** unknown after a delete of a row this batch did not write before */
  version: number | null;
}

/** Whether the session effect `e` applies to a session in state `s` (the guards of the store's statements). */
export function effectApplies(s: SessionFacts, e: SessionEffect): boolean {
  // write and patch: a live session below the new version
  if (e.kind === "create") return s.deleted;
  if (e.kind === "delete") return !s.deleted;
  return !s.deleted && s.version !== null && s.version < e.version;
}

export function factsAfter(s: SessionFacts | undefined, e: SessionEffect): SessionFacts {
  return e.kind === "delete" ? { deleted: true, version: s?.version ?? null } : { deleted: false, version: e.version };
}

/** Why the session effect `e` was refused, read from the stored row (the store's one wording). */
export function sessionRefusal(sessionRow: Database.Statement, e: SessionEffect): string {
  if (e.kind === "create") return `create: session ${e.sessionId} already exists`;
  if (e.kind === "delete") return `delete: session ${e.sessionId} does not exist`;
  const cur = sessionRow.get(e.sessionId) as { version: number; deleted_at: number | null } | undefined;
  const why = !cur ? "does not exist" : cur.deleted_at !== null ? "is deleted" : `is at version ${cur.version}, not below ${e.version}`;
  return `${e.kind}: session ${e.sessionId} ${why}`;
}

/**
 * A session's row as this batch's effects leave it, guarded by the first effect's check, and its
 * checkpoint (session_states, v6) as the batch's last create or whole write left it (patches leave
 * it alone; a delete drops it).
 */
export class SessionWrite extends Pending {
  private version: number | null = null;
  private createdAt: number | null = null;
  private updatedAt = 0;
  private deletedAt: number | null = null;
  /** undefined: unchanged; null: dropped */
  private checkpoint: { version: number; laneSeq: number; state: string } | null | undefined;

  constructor(
    index: number,
    private readonly first: SessionEffect,
    private readonly st: Statements,
  ) {
    super(index, ROW_SESSION);
  }

  /** One more effect (checked against the batch's facts, or the first one: checked when written). */
  fold(e: SessionEffect, stateJson: string | null, at: number, laneSeq: number): void {
    this.updatedAt = at;
    if (e.kind === "delete") {
      this.deletedAt = at;
      this.checkpoint = null;
      return;
    }
    this.version = e.version;
    this.deletedAt = null;
    if (e.kind === "create") this.createdAt = e.createdAt ?? at;
    if (e.kind !== "patch") this.checkpoint = { version: e.version, laneSeq, state: stateJson ?? "null" };
  }

  write(): void {
    const e = this.first;
    const st = this.st;
    const id = e.sessionId;
    const n =
      e.kind === "create"
        ? st.foldedCreateSession.run(id, this.version, this.createdAt, this.updatedAt, this.deletedAt).changes
        : e.kind === "write" || e.kind === "patch"
          ? st.foldedWriteSession.run(this.version, this.createdAt, this.updatedAt, this.deletedAt, id, e.version).changes
          : st.foldedDeleteSession.run(this.version, this.createdAt, this.updatedAt, this.deletedAt, id).changes;
    if (n !== 1) throw new InvariantViolation(sessionRefusal(st.sessionRow, e));
    if (this.checkpoint === null) st.dropSessionState.run(id);
    else if (this.checkpoint !== undefined) st.putSessionState.run(id, this.checkpoint.version, this.checkpoint.laneSeq, this.checkpoint.state);
  }

  check(): boolean {
    const e = this.first;
    const row = this.st.sessionRow.get(e.sessionId) as { version: number; deleted_at: number | null } | undefined;
    if (e.kind === "create") return row === undefined || row.deleted_at !== null;
    const live = row !== undefined && row.deleted_at === null;
    return e.kind === "delete" ? live : live && row.version < e.version;
  }
}

/**
 * The `commands` columns an accepted record gives, in the order both insert statements take them
 * (the per-record `insertCommand` and the folded one): the envelope, its accepted seq and time,
 * tags (JSON or null) and notBefore.
 */
export function acceptedColumns(r: JournalRecord, json: { dependsOn: string | null; params: string | null }, tags: string | null, notBefore: number | null): unknown[] {
  return [r.commandId, r.lane, r.sessionId ?? null, r.type, r.actor, r.fingerprint ?? null, r.explicitId ? 1 : 0, r.idempotencyKey ?? null, r.idempotencyScope ?? null, json.dependsOn, r.ifSessionVersion ?? null, json.params, r.timeoutMs ?? null, r.seq, r.recordedAt, tags, notBefore];
}
