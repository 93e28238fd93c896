/**
 * The store seam. The engine, the operator commands and the tools reach a journal only through
 * this contract, in two halves a provider implements together (`Store = JournalWriter &
 * JournalQueries`):
 *  - JournalWriter: the one writer (open + recover, append a batch and apply its transitions,
 *    idempotency lookups at admission, retention, stats, close);
 *  - JournalQueries: everything read back (commands, history, command details, catch-up pages,
 *    the first retained seq, the audit's reads).
 * Two providers: SQLite (sqlite-store.ts; `--db :memory:` is SQLite too, kind "memory") and Redis
 * (redis/redis-store.ts, docs/redis-store.md). Nothing outside src/journal/ sees SQL, a database
 * handle or a Redis connection.
 *
 * A journal is an append-only list of records. Every record belongs to one lane and carries the
 * next lane sequence of that lane (gap-free) and the next global seq (gap-free). The store derives
 * its materialized state (commands, idempotency keys, sessions, lane heads) from the records of a
 * batch atomically with the append.
 */
import type { ErrorCode } from "../protocol/errors.js";
import type { AuditReads } from "./audit-reads.js";
import type { CommandDetail, EntriesRequest, HistoryEntries, HistoryPage, HistoryRequest } from "./queries/types.js";
import type { CausalFields, IdempotencyHit, JournalRecord, ReadJournalOptions, RecoveredState, StoreStats, StoredCommand } from "./record.js";
import type { CompactionReport, RetentionPolicy } from "./retention.js";

export type * from "./record.js";

/** The write side of a journal: its one writer. */
export interface JournalWriter {
  /** "sqlite": a database file; "memory": nothing survives close(), and no other reader can open it; "redis": a Redis journal (redis/redis-store.ts). */
  readonly kind: "memory" | "sqlite" | "redis";
  /**
   * Open the journal: create or migrate its schema, take the single-writer lease (a live holder
   * refuses; a crashed one is taken over and named in `staleLeaseTakenOver`) and return what the
   * engine resumes from: live sessions, lane heads, the last seq, every unfinished command.
   * Throws StoreOpenError when it refuses the journal (newer schema, locked, linked, foreign file).
   */
  open(): RecoveredState;
  /**
   * Append `records` and apply them, atomically: all of the batch is visible afterwards or none of
   * it. The caller numbers them: `seq` continues the journal gap-free, `laneSeq` its lane. Applying:
   *  - `accepted` admits the command (a new id; its idempotency key claimed in its scope unless an
   *    unexpired entry holds it);
   *  - a status-changing phase (started, requeued, pending, approval, approved, released, renewed,
   *    finished) is a compare-and-swap through the transition table (lifecycle/transitions.ts):
   *    the record carries the command's new `status` and `revision` (current + 1), and the current
   *    status must be a source of that target; a record without a revision (a trace from before
   *    schema 5) applies as the next revision;
   *  - `finished` also writes the outcome (once), applies the session effect (create; write to a
   *    higher version; delete) and starts the expiry of the command's idempotency key;
   *  - `replayed` / `conflict` are only appended.
   * Any refusal or storage failure rolls the batch back and throws JournalWriteError; once the store
   * failed closed (files deleted or replaced, lease lost: `stats().failure`) every commit throws.
   */
  commit(records: JournalRecord[]): void;
  /** The command holding an idempotency key in `scope`, if its entry has not expired at `now`. */
  getIdempotency(scope: string, key: string, now: number): IdempotencyHit | undefined;
  /**
   * Retention: remove the journal prefix `policy` asks for and allows (never an unfinished command,
   * never part of a command, never a command whose idempotency key is live), leaving a checkpoint
   * of sessions and lane heads. Null when there was nothing to remove.
   */
  compact(policy: RetentionPolicy, now: () => number): Promise<CompactionReport | null>;
  stats(): StoreStats;
  /** Release the lease and close. */
  close(): void;
}

/** The query side of a journal: committed data read back (never written). Throws when not open. */
export interface JournalQueries {
  /** One command as stored (status, revision; outcome once terminal), or undefined. */
  getCommand(commandId: string): StoredCommand | undefined;
  /**
   * One page of command history in accepted order (get_command_history). Stable: commands accepted
   * later never appear before the cursor. Throws HistoryCursorError for a bad or foreign cursor.
   */
  history(q: HistoryRequest): HistoryPage;
  /** The journal entries of a history page's commands (pi-server's `entries`), at most `limit`. */
  historyEntries(q: EntriesRequest): HistoryEntries;
  /** get_command: row, envelope, outcome, trace, dependencies, dependents, governance (lists capped at maxRows); undefined when never admitted. */
  commandDetail(commandId: string, opts: { maxRows: number }): CommandDetail | undefined;
  /** Catch-up (`subscribe fromSeq`): a page of records in seq order. */
  readJournal(opts: ReadJournalOptions): JournalRecord[];
  /** Catch-up: a command's causal fields, to rebuild its events; undefined for an unknown (or compacted) command. */
  causalFields(commandId: string): CausalFields | undefined;
  /** The first seq still in the journal: 1, or one past the latest compaction checkpoint. */
  firstRetainedSeq(): number;
  /**
   * The audit's reads. A "memory" store answers on its own connection (use them synchronously);
   * any other opens a reader of its own that sees one snapshot under withSnapshot(). close() it.
   */
  openAuditReads(): AuditReads;
}

/**
 * Several nodes on one journal (the Redis store with a node name; docs/redis-store.md "Several
 * nodes"): each lane is owned by one node at a time, and only its owner writes it (the commit
 * fences every lane). A store without it is one node's alone.
 */
export interface LaneOwnership {
  /** this node's name */
  readonly node: string;
  /** this node's own server lane, `server@<node>` (always owned) */
  readonly serverLane: string;
  /** the lanes claimed at open() (this node's server lane and the orphans it took over) */
  readonly openedLanes: readonly string[];
  /** owned by this node now (claimed, and the node's lease held)? */
  owns(lane: string): boolean;
  /** Take `lane` if nobody alive owns it; what the lane resumes from when it was claimed now. */
  claim(lane: string): LaneClaim;
  /** Lanes holding unfinished commands whose owner is gone (the store catches up first). */
  orphans(): string[];
  /** Bring the query side up to the journal's end (records other nodes wrote). */
  catchUp(): void;
  /** Send `message` to `node`'s handler (onMessage there); its answer, or a rejection after `timeoutMs`. */
  send(node: string, message: unknown, timeoutMs: number): Promise<unknown>;
  /** What answers the messages other nodes send here (one handler). */
  onMessage(handler: (message: unknown) => Promise<unknown>): void;
}

export type LaneClaim =
  | { kind: "owned" }
  | { kind: "claimed"; from: string | null; recovered: RecoveredState }
  | { kind: "other"; node: string; url: string | null }
  | { kind: "unavailable"; why: string };

export type Store = JournalWriter & JournalQueries & { readonly ownership?: LaneOwnership };

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

export type StoreOpenErrorCode = "schema_too_new" | "journal_locked" | "journal_linked" | "not_a_journal" | "redis_not_durable" | "redis_unreachable";

/**
 * Store.open() refused to open the journal:
 *  - `schema_too_new`: the database was written by a newer causeway (schema version above ours);
 *  - `journal_locked`: another live process holds the single-writer lease;
 *  - `journal_linked`: the file has more than one hard link (each path would get its own WAL);
 *  - `not_a_journal`: another application's SQLite file (file-identity.ts); nothing was written;
 *  - `redis_not_durable`: redis-server does not fsync every write (redis/durability-check.ts) and
 *    `redisDurability` is strict;
 *  - `redis_unreachable`: no redis-server answered at the store URL.
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
