/**
 * Schema v5: the transition table (lifecycle/transitions.ts) compiled into compare-and-swap
 * UPDATEs. A status-changing journal row carries the command's new `status` and `revision`; the
 * row applies only if the command is at `revision - 1` and in a status the table allows as a
 * source of that target. Anything else refuses the row (and rolls the batch back).
 */
import type Database from "better-sqlite3";
import { sourcesOf } from "../lifecycle/transitions.js";
import { type JournalRecord } from "./types.js";
import { TERMINAL_STATUSES, UNFINISHED_STATUSES, type CommandStatus } from "../lifecycle/status.js";

const TERMINAL = new Set<string>(TERMINAL_STATUSES);

const LEGACY_STATUS: Partial<Record<JournalRecord["phase"], CommandStatus>> = { started: "running", requeued: "queued" };

/** marks a row that came without a revision (pre-v5 writer): finished may close any unfinished status */
export const LEGACY: unique symbol = Symbol("legacy-row");

const sqlList = (xs: readonly string[]): string => xs.map((x) => `'${x}'`).join(",");

export interface FinishedKeyRow {
  idempotency_scope: string | null;
  idempotency_key: string | null;
}

/** The columns a non-terminal status change sets (one rule for the direct and the folded write). */
export interface MoveParams {
  to: CommandStatus;
  rev: number;
  at: number;
  phase: string;
  reason: string | null;
  expiresAt: number | null;
  gov: string | null;
  policy: string | null;
  id: string;
}

/** What a status-changing row (moving to `to` at revision `rev`) sets on its command. */
export function moveParams(r: JournalRecord, to: CommandStatus, rev: number): MoveParams {
  const gov = r.detail?.governance;
  const reason = to === "pending" ? ((r.detail?.reason as string | undefined) ?? "approval") : null;
  const expiresAt = to === "pending" && gov && typeof (gov as { expiresAt?: unknown }).expiresAt === "number" ? (gov as { expiresAt: number }).expiresAt : null;
  const policy = gov ? ((gov as { policyVersion?: string }).policyVersion ?? null) : null;
  return { to, rev, at: r.recordedAt, phase: r.phase, reason, expiresAt, gov: gov === undefined ? null : JSON.stringify(gov), policy, id: r.commandId };
}

/** A row from before schema 5 (legacyRow): its `finished` may close any unfinished status. */
export function isLegacy(r: JournalRecord): boolean {
  return (r as JournalRecord & { [LEGACY]?: true })[LEGACY] === true;
}

/** The statuses a command must be in for `r` (status-changing, moving to `to`) to apply. */
export function sourcesFor(r: JournalRecord, to: CommandStatus): readonly CommandStatus[] {
  return r.phase === "finished" && isLegacy(r) ? UNFINISHED_STATUSES : sourcesOf(to);
}

export class TransitionStatements {
  private readonly moves = new Map<CommandStatus, Database.Statement>();
  private readonly finishes = new Map<string, Database.Statement>();
  private readonly folded = new Map<string, Database.Statement>();
  private readonly insertTagSt: Database.Statement;
  private readonly insertDecisionSt: Database.Statement;
  private readonly currentSt: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.insertTagSt = db.prepare("INSERT OR IGNORE INTO command_tags (tag, accepted_seq, command_id) VALUES (?, ?, ?)");
    this.insertDecisionSt = db.prepare("INSERT INTO decisions (seq, command_id, revision, kind, actor, at, step, comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    this.currentSt = db.prepare("SELECT status, revision, idempotency_scope, idempotency_key FROM commands WHERE command_id = ?");
  }

  /**
   * A status-changing row from before schema 5 (no revision): the next revision, its phase's status.
   * `current`: the command's revision when the caller knows it (changed earlier in the batch, not
   * written yet); otherwise the stored one.
   */
  legacyRow(r: JournalRecord, current?: number): JournalRecord {
    const cur = current ?? (this.currentSt.get(r.commandId) as { revision: number } | undefined)?.revision;
    const status = r.status ?? LEGACY_STATUS[r.phase];
    return { ...r, revision: (cur ?? 0) + 1, ...(status ? { status } : {}), [LEGACY]: true } as JournalRecord;
  }

  /** The stored status, revision and idempotency key of a command. */
  current(commandId: string): ({ status: CommandStatus; revision: number } & FinishedKeyRow) | undefined {
    return this.currentSt.get(commandId) as ({ status: CommandStatus; revision: number } & FinishedKeyRow) | undefined;
  }

  insertTag(tag: string, acceptedSeq: number, commandId: string): void {
    this.insertTagSt.run(tag, acceptedSeq, commandId);
  }

  /** A non-terminal status change. Returns why it was refused, or null when it applied. */
  apply(r: JournalRecord): string | null {
    const to = r.status;
    if (to === undefined || typeof r.revision !== "number") return `a ${r.phase} row needs a status and a revision`;
    const info = this.move(to).run(moveParams(r, to, r.revision));
    return info.changes === 1 ? null : this.describeRefusal(r.commandId, to, r.revision);
  }

  /** A terminal status change; returns the command's idempotency key (or undefined when refused). */
  finish(r: JournalRecord, to: CommandStatus, outcomeJson: string): FinishedKeyRow | undefined {
    if (typeof r.revision !== "number") return undefined;
    return this.finishSt(to, isLegacy(r)).get(to, outcomeJson, r.seq, r.recordedAt, r.revision, r.commandId, r.revision) as FinishedKeyRow | undefined;
  }

  /** decisions (approve / reject / cancel / expire / supersede / renew) are indexed for history */
  recordDecision(r: JournalRecord): void {
    const d = r.detail?.decision as { kind?: string; actor?: string; step?: number; comment?: string } | undefined;
    if (!d || typeof d.kind !== "string") return;
    this.insertDecisionSt.run(r.seq, r.commandId, r.revision ?? 0, d.kind, d.actor ?? r.actor, r.recordedAt, d.step ?? null, d.comment ?? null);
  }

  describeRefusal(commandId: string, to: CommandStatus, revision: number | null | undefined): string {
    const cur = this.currentSt.get(commandId) as { status: CommandStatus; revision: number } | undefined;
    if (!cur) return `unknown command ${commandId}`;
    if (TERMINAL.has(cur.status)) return `command ${commandId} already has a terminal outcome (status ${cur.status})`;
    return `command ${commandId} is ${cur.status} at revision ${cur.revision}: ${cur.status} → ${to} expecting revision ${typeof revision === "number" ? revision - 1 : "?"} refused`;
  }

  /**
   * Batch folding: a command's row after several status changes of one batch, in ONE update guarded
   * by the first change's compare-and-swap (`first`, moving to `to`; the later changes were checked
   * in memory against it). Parameters: status, revision, started mode (0 as stored, 1 the value, 2
   * NULL if stored running) and value, pending_reason, expires_at, governance, policy_version,
   * queued_at (NULL: as stored), [outcome, finished_seq, finished_at,] command_id, first revision.
   * `finished`: the run ends with the outcome, and returns the key like finish().
   */
  foldedUpdate(first: JournalRecord, to: CommandStatus, finished: boolean): Database.Statement {
    const legacy = first.phase === "finished" && isLegacy(first);
    const key = `${finished ? "f" : "m"}:${legacy ? "legacy:" : ""}${to}`;
    let st = this.folded.get(key);
    if (!st) {
      const sources = sourcesFor(first, to);
      st = this.db.prepare(
        `UPDATE commands SET status = ?, revision = ?,
           started_at = CASE ? WHEN 1 THEN ? WHEN 2 THEN (CASE WHEN status = 'running' THEN NULL ELSE started_at END) ELSE started_at END,
           pending_reason = ?, expires_at = ?, governance = coalesce(?, governance),
           policy_version = coalesce(?, policy_version), queued_at = coalesce(?, queued_at)
           ${finished ? ", outcome = ?, finished_seq = ?, finished_at = ?" : ""}
         WHERE command_id = ? AND revision = ? - 1 AND status IN (${sqlList(sources)})
         ${finished ? "RETURNING idempotency_scope, idempotency_key" : ""}`,
      );
      this.folded.set(key, st);
    }
    return st;
  }

  private move(to: CommandStatus): Database.Statement {
    let st = this.moves.get(to);
    if (!st) {
      st = this.db.prepare(
        `UPDATE commands SET status = @to, revision = @rev,
           started_at = CASE WHEN @to = 'running' THEN @at WHEN status = 'running' THEN NULL ELSE started_at END,
           pending_reason = @reason, expires_at = @expiresAt,
           governance = coalesce(@gov, governance), policy_version = coalesce(@policy, policy_version),
           queued_at = CASE WHEN @phase = 'approved' OR @phase = 'released' THEN @at ELSE queued_at END
         WHERE command_id = @id AND revision = @rev - 1 AND status IN (${sqlList(sourcesOf(to))})`,
      );
      this.moves.set(to, st);
    }
    return st;
  }

  private finishSt(to: CommandStatus, legacy: boolean): Database.Statement {
    const key = legacy ? `legacy:${to}` : to;
    let st = this.finishes.get(key);
    if (!st) {
      const sources = legacy ? UNFINISHED_STATUSES : sourcesOf(to);
      st = this.db.prepare(
        `UPDATE commands SET status = ?, outcome = ?, finished_seq = ?, finished_at = ?, revision = ?,
           pending_reason = NULL, expires_at = NULL
         WHERE command_id = ? AND revision = ? - 1 AND status IN (${sqlList(sources)})
         RETURNING idempotency_scope, idempotency_key`,
      );
      this.finishes.set(key, st);
    }
    return st;
  }
}
