/**
 * The journal's data as every provider stores and returns it: records, commands, what a reopened
 * journal recovers, and the reads that rebuild events. No storage detail here (types.ts holds the
 * Store contract).
 */
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
  /** the command's revision after this row (status-changing rows; accepted = 0; absent in traces from before schema 5) */
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
  /** how many status changes it went through (compare-and-swap counter) */
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
  /** how many status changes it went through (compare-and-swap counter) */
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
  /** JSON bytes of the patches journaled since the session's last whole state (the snapshot rule) */
  patchBytes?: number;
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
  kind: "memory" | "sqlite" | "redis";
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

/** Catch-up reads: a page of the journal in seq order. */
export interface ReadJournalOptions {
  /** exclusive lower bound */
  afterSeq?: number;
  /** inclusive upper bound */
  toSeq?: number;
  sessionId?: string;
  /** max rows returned (the caller pages) */
  limit: number;
}

/** A command's causal envelope fields (kept with its admission), to rebuild its events. */
export interface CausalFields {
  dependsOn: string[];
  ifSessionVersion: number | undefined;
  idempotencyKey: string | null;
}
