/**
 * The replay audit's vocabulary: invariant names (stable, part of the CLI / protocol contract),
 * violations, options and the report.
 */

/** Every invariant the audit checks, by its stable name. */
export const INVARIANTS = [
  "lane_seq_gap_free",
  "one_terminal_outcome",
  "lifecycle_order",
  "dependencies_before_start",
  "session_version_sequence",
  "replay_consistency",
  "timeout_never_started",
  "materialized_tables",
  "deterministic_reexecution",
] as const;

/** The replay audit's invariants (INVARIANTS); InvariantName adds the stores' (STORE_INVARIANTS). */
export type ReplayInvariantName = (typeof INVARIANTS)[number];

export const INVARIANT_DESCRIPTIONS: Record<ReplayInvariantName, string> = {
  lane_seq_gap_free: "seq is gap-free globally; lane_seq is strictly increasing and gap-free per lane",
  one_terminal_outcome: "exactly one finished row per admitted command, none for other ids, only replayed/conflict rows after it; status agrees with the outcome",
  lifecycle_order: "accepted < started (optional) < finished; requeued only between accepted and finished; a handler outcome needs a started row",
  dependencies_before_start: "a command starts only after each dependsOn id has a successful finished row, earlier in seq",
  session_version_sequence: "create sets 0, each successful write is previous + 1, reads and failures never change the version",
  replay_consistency: "a replayed row repeats the original finished outcome byte for byte; an idempotency key is never claimed twice while live",
  timeout_never_started: "a command timed out before it started has no started row; no started row after acceptedAt + timeoutMs",
  materialized_tables: "commands, sessions, idempotency and lanes equal what the journal implies",
  deterministic_reexecution: "re-running a deterministic handler with the recorded params, clock and randomness reproduces the recorded outcome and session state",
};

/**
 * Invariants a store contributes beyond the replay audit (store-checks.ts): checked only on journals
 * of that store, so a report lists them only there (a SQLite journal's report is unchanged).
 */
export const STORE_INVARIANTS = ["redis_materialized_keys"] as const;

export type StoreInvariantName = (typeof STORE_INVARIANTS)[number];

export type InvariantName = ReplayInvariantName | StoreInvariantName;

export const STORE_INVARIANT_DESCRIPTIONS: Record<StoreInvariantName, { description: string; short: string; found: string }> = {
  redis_materialized_keys: {
    description: "Redis's materialized keys (cmd:, idem:, sess:, lanes, seq), which the next commit script decides on, equal what the journal implies: no key differs, is missing or is stray",
    short: "Redis's keys vs the journal",
    found: "in Redis's materialized keys",
  },
};

export interface Violation {
  invariant: InvariantName;
  /** the journal row where the violation shows */
  seq?: number;
  commandId?: string;
  sessionId?: string;
  message: string;
  evidence: Record<string, unknown>;
}

export interface InvariantTally {
  /** how many times the invariant was evaluated */
  checks: number;
  violations: number;
}

export interface ReexecutionTally {
  /** handlers run again */
  reexecuted: number;
  matched: number;
  mismatched: number;
  /** precondition decisions reproduced without running the handler (ifSessionVersion, session existence) */
  preconditionsReproduced: number;
  /** reasons a finished command was not re-executed, with counts */
  skipped: Record<string, number>;
}

export interface AuditWindow {
  /** exclusive lower bound actually used (the latest checkpoint's seq when the journal was compacted) */
  fromSeq: number;
  /** inclusive upper bound */
  toSeq: number;
  /** the journal's last seq in the audited snapshot */
  lastSeq: number;
  /** the first journal row that still exists (1 unless the journal was compacted) */
  firstRetainedSeq: number;
  sessionId: string | null;
  /** the window stopped before lastSeq (maxRows) */
  truncated: boolean;
  /** the audit started at the beginning of the retained journal, without a session filter */
  complete: boolean;
  /**
   * (#17) the file's derived tables stopped short of its journal (a kill -9 before their flush):
   * rows fromSeq..toSeq were materialized from the journal for this audit, as a restart does
   */
  projectionCaughtUp?: { fromSeq: number; toSeq: number };
}

export interface AuditReport {
  ok: boolean;
  database: string | null;
  window: AuditWindow;
  checkedRows: number;
  /** admitted commands seen (accepted rows in scope) */
  commands: number;
  /** admitted commands without a finished row whose commands row is still queued / running (in flight, or awaiting restart recovery) */
  unfinished: { count: number; ids: string[]; truncated: boolean };
  invariants: Record<ReplayInvariantName, InvariantTally> & Partial<Record<StoreInvariantName, InvariantTally>>;
  violations: Violation[];
  /** more violations were found than the report lists */
  violationsTruncated: boolean;
  reexecution: ReexecutionTally;
  /** facts the audit could not verify, with counts (e.g. a dependency in the compacted prefix) */
  unverifiable: Record<string, number>;
  durationMs: number;
}

export interface AuditOptions {
  /** exclusive lower bound (default 0: the whole retained journal) */
  fromSeq?: number;
  /** audit at most this many rows (default: all) */
  maxRows?: number;
  /** only lane `session:<id>` and the server lane (creates / deletes) */
  sessionId?: string;
  /** rows per page read (default 2000) */
  pageSize?: number;
  /** violations listed in the report (default 1000); all are counted */
  maxViolations?: number;
  /** the server's maxSessions, for re-executing create_session (default DEFAULT_LIMITS.maxSessions) */
  maxSessions?: number;
  /** called after every page */
  onProgress?: (doneRows: number, totalRows: number) => void;
  /** the store's own checks (store-checks.ts), run after the replay in the same snapshot */
  storeChecks?: StoreCheck[];
}

/** A store-specific finding: what differs, where (a store key, a command, a session), and the evidence. */
export interface StoreFinding {
  /** the store's own name of what differs (a Redis key), put in the evidence */
  key?: string;
  commandId?: string;
  sessionId?: string;
  message: string;
  evidence: Record<string, unknown>;
}

/** How a store contributes a check: the invariant (named here, in STORE_INVARIANTS) and what finds its violations. */
export interface StoreCheck {
  invariant: StoreInvariantName;
  run(): StoreFinding[];
}
