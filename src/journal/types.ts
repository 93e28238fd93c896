/**
 * The store seam. The engine reaches persistence only through `Store`.
 * The SQLite store (sqlite-store.ts) is the one implementation today; `--db :memory:` is SQLite too.
 *
 * A journal is an append-only list of records. Every record belongs to one lane and carries the
 * next lane sequence of that lane (gap-free) and the next global seq (gap-free). The store derives
 * its materialized tables (commands, idempotency keys, sessions, lane counters) from the records
 * of a batch inside the same transaction as the append.
 */
import type { ErrorCode } from "../protocol/errors.js";
import type { Outcome } from "../protocol/types.js";
import type { CommandStatus, GovernanceState, JournalPhase, PendingReason, SessionEffect, UnfinishedStatus } from "../lifecycle/status.js";

export interface JournalRecord {
  seq: number;
  lane: string;
  laneSeq: number;
  commandId: string;
  sessionId: string | null;
  phase: JournalPhase;
  recordedAt: number;
  type: string;
  actor: string;
  fingerprint: string | null;
  /** accepted: the causal envelope */
  explicitId?: boolean;
  idempotencyKey?: string | null;
  /** scope of the idempotency key: `session:<id>` or `server` */
  idempotencyScope?: string | null;
  dependsOn?: string[] | null;
  ifSessionVersion?: number | null;
  /** accepted: command params (envelope minus envelope fields), already redacted */
  params?: unknown;
  /** accepted: effective timeout in ms; the deadline is recordedAt + timeoutMs */
  timeoutMs?: number | null;
  /** finished: the stored outcome (replayed byte-identical); replayed/conflict: what was answered */
  outcome?: Outcome;
  /** finished: terminal status */
  status?: CommandStatus;
  /** finished + success: what happened to session state */
  effect?: SessionEffect;
  /** finished: idempotency key entry expiry (epoch ms) */
  idempotencyExpiresAt?: number | null;
  /** free-form explanation: recovery reason, replay source, conflict reason */
  detail?: Record<string, unknown> | null;
  /** schema v5: the command's revision after this row (status-changing rows; accepted = 0) */
  revision?: number | null;
}

/** A record before the committer numbers it (`seq`, `laneSeq`). */
export type NewRecord = Omit<JournalRecord, "seq" | "laneSeq">;

export interface StoredCommand {
  commandId: string;
  lane: string;
  sessionId: string | null;
  type: string;
  actor: string;
  fingerprint: string | null;
  explicitId: boolean;
  idempotencyKey: string | null;
  status: CommandStatus;
  acceptedSeq: number;
  acceptedAt: number;
  /** present once terminal */
  outcome?: Outcome;
  finishedAt?: number;
  /** schema v5 */
  revision?: number;
}

export interface UnfinishedCommand {
  commandId: string;
  lane: string;
  sessionId: string | null;
  type: string;
  actor: string;
  fingerprint: string | null;
  explicitId: boolean;
  idempotencyKey: string | null;
  idempotencyScope: string | null;
  dependsOn: string[] | null;
  ifSessionVersion: number | null;
  params: unknown;
  timeoutMs: number | null;
  acceptedAt: number;
  acceptedSeq: number;
  status: UnfinishedStatus;
  /** how many times it was started (its `started` rows); counted only for a running command, else 0 */
  starts: number;
  /** schema v5 (0 on older journals) */
  revision: number;
  pendingReason: PendingReason | null;
  governance: GovernanceState | null;
  tags: string[];
  notBefore: number | null;
  /** when it (last) joined its lane queue: accepted, released or approved */
  queuedAt: number | null;
}

export interface RecoveredSession {
  sessionId: string;
  state: unknown;
  version: number;
  createdAt: number;
}

export interface RecoveredState {
  sessions: RecoveredSession[];
  /** last lane sequence per lane */
  laneSeqs: Array<{ lane: string; laneSeq: number }>;
  /** last global seq (0 for an empty journal) */
  lastSeq: number;
  /** commands without a terminal outcome, ordered by acceptedSeq */
  unfinished: UnfinishedCommand[];
  schemaVersion: number;
  /**
   * Set when open() took over a stale single-writer lease (a crashed holder). Worth a warn log:
   * the previous writer did not shut down cleanly.
   */
  staleLeaseTakenOver?: LeaseHolder;
}

/** The process that holds (or held) a journal's single-writer lease. */
export interface LeaseHolder {
  pid: number;
  host: string;
  /** epoch ms the holder opened the journal */
  startedAt: number;
  /** epoch ms of the holder's last heartbeat */
  heartbeatAt: number;
}

export interface IdempotencyHit {
  commandId: string;
  fingerprint: string | null;
}

export interface StoreStats {
  kind: "memory" | "sqlite";
  path: string | null;
  /**
   * Set once the store failed closed for good (its files were deleted or replaced, or its lease was
   * taken over): every later commit fails with `journal_unavailable`. Null while healthy.
   */
  failure: string | null;
  schemaVersion: number;
  commits: number;
  commitFailures: number;
  recordsWritten: number;
  lastBatchSize: number;
}

export interface Store {
  readonly kind: "memory" | "sqlite";
  /** Open (migrate, take the single-writer lease) and return what the engine needs to resume. */
  open(): RecoveredState;
  /**
   * Append the records and update the materialized tables in ONE transaction.
   * Throws JournalWriteError when the transaction did not commit; then nothing of it is visible.
   */
  commit(records: JournalRecord[]): void;
  getCommand(commandId: string): StoredCommand | undefined;
  /** The command holding an idempotency key in `scope`, if its entry has not expired at `now`. */
  getIdempotency(scope: string, key: string, now: number): IdempotencyHit | undefined;
  stats(): StoreStats;
  /** The open SQLite connection, for read-only query modules (history, journal reads). */
  database(): import("better-sqlite3").Database;
  close(): void;
}

/** Where the store reports what an operator must hear about (a pino logger fits). */
export interface StoreLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export class JournalWriteError extends Error {
  readonly code: ErrorCode = "journal_unavailable";
  override readonly cause: unknown;
  constructor(message: string, cause?: unknown) {
    super(message);
    this.name = "JournalWriteError";
    this.cause = cause;
  }
}

export type StoreOpenErrorCode = "schema_too_new" | "journal_locked" | "journal_linked" | "not_a_journal";

/**
 * Store.open() refused to open the journal:
 *  - `schema_too_new`: the database was written by a newer causeway (schema version above ours);
 *  - `journal_locked`: another live process holds the single-writer lease;
 *  - `journal_linked`: the file has more than one hard link (each path would get its own WAL);
 *  - `not_a_journal`: another application's SQLite file (file-identity.ts); nothing was written.
 */
export class StoreOpenError extends Error {
  readonly code: StoreOpenErrorCode;
  readonly details: Record<string, unknown>;
  constructor(code: StoreOpenErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = "StoreOpenError";
    this.code = code;
    this.details = details;
  }
}
