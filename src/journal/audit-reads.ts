/**
 * What the replay audit (src/audit) reads of a journal: its bounds and latest checkpoint, pages of
 * records in seq order, facts from before an audited window, and the materialized tables it
 * compares with what the journal implies. The SQLite provider is sqlite-audit-reads.ts; the audit
 * never sees how they are stored. Rows of the materialized tables keep their column names: the
 * audit reports differences by column.
 */
import type { CommandsTableRow } from "./codec.js";
import type { JournalRecord } from "./record.js";

export interface JournalBounds {
  /** 0 for an empty journal */
  lastSeq: number;
  /** the lowest seq present (0 for an empty journal) */
  firstSeq: number;
}

/**
 * What compaction (retention.ts) left in place of the removed prefix: session states and versions
 * and lane heads as of `seq`.
 */
export interface AuditCheckpoint {
  seq: number;
  sessions: Record<string, { state: unknown; version: number; createdAt: number }>;
  lanes: Record<string, number>;
}

export interface PageRequest {
  /** exclusive */
  afterSeq: number;
  /** inclusive */
  toSeq: number;
  limit: number;
  /** only lane `session:<id>` and the server lane */
  sessionId?: string;
}

export interface FinishedRow {
  seq: number;
  lane: string;
  /** the outcome as stored (JSON text) */
  outcome: string;
}

/** A finished row that changed a session (its effect as stored, JSON text). */
export interface SessionEffectRow {
  seq: number;
  command_id: string;
  effect: string;
  recorded_at: number;
}

/**
 * A command's row checked against the journal rows it was materialized from: the columns that are
 * not copies, and whether the copied envelope (`envelope_ok`) and outcome (`outcome_ok`) equal
 * their accepted and finished rows (1) or not (0).
 */
export interface CommandCheckRow {
  accepted_seq: number;
  finished_seq: number | null;
  started_at: number | null;
  status: string;
  accepted_at: number;
  finished_at: number | null;
  envelope_ok: number;
  outcome_ok: number;
}

export interface SessionsTableRow {
  session_id: string;
  state: string;
  version: number;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

export interface LanesTableRow {
  last_lane_seq: number;
  updated_at: number;
}

export interface IdempotencyTableRow {
  command_id: string;
  fingerprint: string | null;
  expires_at: number | null;
}

/** Which sessions rows a count or listing covers. */
export type SessionRows = "all" | "live";

export interface AuditReads {
  bounds(): JournalBounds;
  /** The latest compaction checkpoint; null when nothing was ever compacted. */
  latestCheckpoint(): AuditCheckpoint | null;
  /** One page of records in seq order. */
  readPage(req: PageRequest): JournalRecord[];
  /** Rows in scope of a window (for progress totals). */
  countRows(afterSeq: number, toSeq: number, sessionId?: string): number;
  /**
   * Run `fn` on one consistent snapshot: the journal and the materialized tables read as of one
   * moment even while a server keeps committing. On a reader that shares the writer's connection
   * (an in-memory journal) use the reads synchronously instead.
   */
  withSnapshot<T>(fn: () => Promise<T>): Promise<T>;

  // facts from before an audited window
  /** The lifecycle rows (accepted / started / requeued / finished) of a command before `beforeSeq` (at most 256). */
  commandHistoryBefore(commandId: string, beforeSeq: number): JournalRecord[];
  /** The command's first finished row before `beforeSeq`. */
  finishedRowBefore(commandId: string, beforeSeq: number): FinishedRow | undefined;
  /** seq of the row (lane, laneSeq), if it exists. */
  laneRowSeq(lane: string, laneSeq: number): number | undefined;
  /** The finished rows with an effect in `lane` or the server lane, floorSeq ≤ seq < beforeSeq, newest first. */
  sessionEffectsBefore(lane: string, beforeSeq: number, floorSeq: number): Iterable<SessionEffectRow>;
  /** When the command's accepted row was recorded. */
  acceptedAt(commandId: string): number | undefined;

  // the materialized tables
  commandRow(commandId: string): CommandsTableRow | undefined;
  commandCheck(commandId: string): CommandCheckRow | undefined;
  sessionRow(sessionId: string): SessionsTableRow | undefined;
  laneRow(lane: string): LanesTableRow | undefined;
  idempotencyRow(scope: string, key: string): IdempotencyTableRow | undefined;
  countCommandsAcceptedAfter(seq: number): number;
  commandIdsAcceptedAfter(seq: number): Iterable<string>;
  countSessions(which: SessionRows): number;
  sessionIds(which: SessionRows): Iterable<string>;
  countLanes(): number;
  laneNames(): string[];
  countIdempotencyKeys(): number;

  /** Rows of a file whose derived tables lagged (projection.ts) that this reader materialized from the journal first, as a restart does; null when none. */
  projectionLag?(): { fromSeq: number; toSeq: number } | null;
  /** Release what the reader holds (a reader on the writer's own connection leaves it open). */
  close(): void;
}
