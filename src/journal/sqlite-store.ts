/**
 * The SQLite journal behind the `Store` seam (better-sqlite3, synchronous).
 *
 * - File databases run in WAL mode with `synchronous` chosen by the durability mode, and are
 *   guarded by a single-writer lease (lease.ts). ":memory:" is the in-memory store (kind "memory",
 *   no lease, nothing survives close()).
 * - Write side: commit(records) appends the records and materializes them (materialize.ts) in ONE
 *   immediate transaction (with `projectionFlushMs` the derived rows are checked in it and written by
 *   a later flush: projection.ts); anything refused rolls the whole batch back and surfaces as
 *   JournalWriteError. The writer keeps the global seq and the lane heads in memory (loaded at open
 *   by recover.ts; the lease makes this process the only writer) and updates them only after a
 *   transaction committed.
 * - Query side: the read modules (queries/, reader.ts, retention.ts, sqlite-audit-reads.ts) on the
 *   writer's connection; the audit of a file reads through its own read-only connection.
 *
 * docs/journal-schema.md describes the schema, invariants and durability guarantees.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { DEFAULT_ADMISSION_FILTER_BITS, DEFAULT_PROJECTION_MAX_RECORDS, type Durability } from "../config/defaults.js";
import type { AuditReads } from "./audit-reads.js";
import { rowToStoredCommand, type CommandRow } from "./codec.js";
import { Checkpointer } from "./checkpointer.js";
import { KnownIds } from "./known-ids.js";
import { FaultInjector, type FaultKind } from "./fault.js";
import { FileGuard } from "./file-guard.js";
import { inspectJournalFile, markJournalFile } from "./file-identity.js";
import { DEFAULT_LEASE_HEARTBEAT_MS, Lease, assertSingleLink, type LeaseTakeover } from "./lease.js";
import { Materializer, type BatchResult, type WriteMode } from "./materialize.js";
import { assertSchemaNotTooNew, runMigrations } from "./migrations/index.js";
import { getCommandDetail, queryEntries, queryHistory } from "./queries.js";
import type { CommandDetail, EntriesRequest, HistoryEntries, HistoryPage, HistoryRequest } from "./queries/types.js";
import { Projection } from "./projection.js";
import type { SqliteStoreOptions } from "./sqlite-options.js";
import { readCausalFields, readJournal } from "./reader.js";
import { readRecoveredState } from "./recover.js";
import { compact, firstRetainedSeq, planCut, type CompactionReport, type RetentionPolicy } from "./retention.js";
import { SqliteAuditReads, openAuditDatabase } from "./sqlite-audit-reads.js";
import { prepareStatements, type Statements } from "./statements.js";
import { TransitionStatements } from "./transition-sql.js";
import {
  JournalWriteError,
  type CausalFields,
  type IdempotencyHit,
  type JournalRecord,
  type ReadJournalOptions,
  type RecoveredState,
  type Store,
  type StoreLog,
  type StoreStats,
  type StoredCommand,
} from "./types.js";

export type { SqliteStoreOptions } from "./sqlite-options.js";

const SYNCHRONOUS: Record<Durability, string> = { full: "FULL", normal: "NORMAL", off: "OFF" };

/** One commit: the records and the commit's number (for the fault hook). */
type WriteTransaction = Database.Transaction<(records: JournalRecord[], commitNo: number, mode: WriteMode) => BatchResult>;

export class SqliteStore implements Store {
  readonly kind: "memory" | "sqlite";
  readonly path: string;
  private readonly memory: boolean;
  private readonly durability: Durability;
  private readonly heartbeatMs: number;
  private readonly now: () => number;
  private readonly busyTimeoutMs: number;
  private readonly fault: FaultInjector;

  private db: Database.Database | null = null;
  private st: Statements | null = null;
  private txn: WriteTransaction | null = null;
  private lease: Lease | null = null;
  /** the database and -wal files as opened (file databases) */
  private guard: FileGuard | null = null;
  /** why the store failed closed for good; null while healthy */
  private failure: string | null = null;
  private readonly log: StoreLog | undefined;
  private readonly filterBits: number;
  private checkpointer: Checkpointer | null = null;
  private readonly projectionOpts: { flushMs: number; maxRecords: number };
  private projection: Projection | null = null;
  /** ids and keys the journal may hold; a miss skips the SQLite lookup */
  private known = new KnownIds(0);

  private lastSeq = 0;
  private readonly laneHeads = new Map<string, number>();
  private schemaVersion = 0;
  private commitCalls = 0;
  private commits = 0;
  private commitFailures = 0;
  private recordsWritten = 0;
  private lastBatchSize = 0;

  constructor(private readonly opts: SqliteStoreOptions) {
    this.path = opts.path;
    this.memory = opts.path === ":memory:";
    this.kind = this.memory ? "memory" : "sqlite";
    this.durability = opts.durability;
    if (!Object.hasOwn(SYNCHRONOUS, opts.durability)) throw new Error(`unknown durability mode: ${String(opts.durability)}`);
    this.heartbeatMs = opts.leaseHeartbeatMs ?? DEFAULT_LEASE_HEARTBEAT_MS;
    this.now = opts.now ?? Date.now;
    this.busyTimeoutMs = opts.busyTimeoutMs ?? 250;
    this.log = opts.log;
    this.filterBits = opts.admissionFilterBits ?? DEFAULT_ADMISSION_FILTER_BITS;
    this.projectionOpts = { flushMs: opts.projectionFlushMs ?? 0, maxRecords: opts.projectionMaxRecords ?? DEFAULT_PROJECTION_MAX_RECORDS };
    this.fault = new FaultInjector(opts.faultFailCommit ?? 0, opts.faultFailCount ?? 1, opts.faultKind ?? "ioerr");
  }

  open(): RecoveredState {
    if (this.db) throw new Error(`store ${this.path} is already open`);
    if (!this.memory) {
      mkdirSync(dirname(this.path), { recursive: true });
      assertSingleLink(this.path); // before anything opens it through this path
    }
    const db = new Database(this.path);
    let lease: Lease | null = null;
    try {
      db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(this.busyTimeoutMs))}`);
      // refuse another application's file and a newer schema before writing anything (even the
      // WAL switch or the lease row); a new file is marked as a causeway journal first of all
      const kind = inspectJournalFile(db, this.path);
      if (kind === "empty") markJournalFile(db);
      assertSchemaNotTooNew(db, this.path);
      if (!this.memory) db.pragma("journal_mode = WAL");
      db.pragma(`synchronous = ${SYNCHRONOUS[this.durability]}`);
      // 16 MiB page cache: random-key index pages (command ids, idempotency keys) stay hot
      db.pragma("cache_size = -16384");

      let takeover: LeaseTakeover | undefined;
      if (!this.memory) {
        lease = new Lease({ db, path: this.path, heartbeatMs: this.heartbeatMs, now: this.now, takeOver: (this.opts.takeOverLease ?? false) });
        takeover = lease.acquire();
      }
      this.schemaVersion = runMigrations(db, this.path);
      this.opts.seed?.(db);
      lease?.beat(); // a long migration must not make our fresh lease look abandoned
      // a journal from before the mark existed gets it, under the lease
      if (kind === "unmarked") markJournalFile(db);

      this.db = db;
      this.st = prepareStatements(db);
      const materializer = new Materializer(this.st, new TransitionStatements(db), () => db.inTransaction, { fold: (this.opts.foldBatches ?? true) });
      this.txn = this.writeTransaction(db, materializer);
      // the derived tables catch up with the journal before anything reads them
      this.projection = new Projection(db, materializer, { ...this.projectionOpts, now: this.now, log: this.log });
      this.projection.open();

      const recovered = readRecoveredState(db, this.schemaVersion);
      this.lastSeq = recovered.lastSeq;
      this.laneHeads.clear();
      for (const l of recovered.laneSeqs) this.laneHeads.set(l.lane, l.laneSeq);
      if (takeover) reportTakeover(takeover, recovered, this.path, this.log);
      this.lease = lease;
      this.failure = null;
      this.guard = this.memory ? null : new FileGuard([this.path, `${this.path}-wal`]);
      lease?.startHeartbeat(() => this.checkFiles("paths"));
      this.commitCalls = 0;
      this.known = new KnownIds(this.filterBits);
      this.known.fill(db);
      if (!this.memory && (this.opts.checkpointIntervalMs ?? 0) > 0) {
        this.checkpointer = new Checkpointer(db, { path: this.path, intervalMs: (this.opts.checkpointIntervalMs ?? 0), synchronous: SYNCHRONOUS[this.durability], busyTimeoutMs: this.busyTimeoutMs, log: this.log });
        this.checkpointer.start();
      }
      return recovered;
    } catch (err) {
      lease?.release();
      this.projection?.stop();
      this.db = null;
      this.st = null;
      this.txn = null;
      if (db.open) db.close();
      throw err;
    }
  }

  /** The transaction body: the lease still ours, every record appended and materialized, the fault hook. */
  private writeTransaction(db: Database.Database, materializer: Materializer): WriteTransaction {
    return db.transaction((records: JournalRecord[], commitNo: number, mode: WriteMode) => {
      // single writer: the lease row must still be ours, read under this transaction's write lock
      if (this.lease && !this.lease.verify()) throw new JournalWriteError(`journal ${this.path}: ${this.lease.lost}`);
      const result = materializer.write(records, this.lastSeq, this.laneHeads, mode);
      // test-only: fail after every write of the batch, before the transaction commits
      this.fault.check(commitNo);
      return result;
    });
  }

  commit(records: JournalRecord[]): void {
    const commitNo = ++this.commitCalls;
    if (!this.db || !this.txn) {
      this.commitFailures++;
      throw new JournalWriteError(`journal ${this.path} is not open`);
    }
    const down = this.failure ?? this.checkFiles("lease");
    if (down) {
      this.commitFailures++;
      throw new JournalWriteError(`journal ${this.path}: ${down}`);
    }
    // before the write: an id must be in the filter by the time its row is visible (a failed batch only leaves stale entries)
    const fresh = this.known.note(records);
    let result: BatchResult;
    try {
      this.projection!.beforeBatch();
      result = this.txn.immediate(records, commitNo, { ...this.projection!.mode(records.length), fresh });
    } catch (err) {
      this.commitFailures++;
      this.projection!.failed();
      this.checkFiles("lease"); // a lease found taken over inside the transaction fails the store for good
      if (err instanceof JournalWriteError) throw err;
      const msg = err instanceof Error ? err.message : String(err);
      throw new JournalWriteError(`journal commit failed: ${msg}`, err);
    }
    // committed, but to the files this store opened: are they still the journal at its path?
    const lost = this.checkFiles("links");
    if (lost) {
      this.commitFailures++;
      throw new JournalWriteError(`journal ${this.path}: ${lost}; this batch is not durable`);
    }
    this.projection!.committed(result.flushed);
    this.lastSeq = result.lastSeq;
    for (const [lane, u] of result.lanes) this.laneHeads.set(lane, u.laneSeq);
    this.commits++;
    this.recordsWritten += records.length;
    this.lastBatchSize = records.length;
  }

  /**
   * Fail closed for good when the lease was lost or the journal files were deleted / replaced.
   * `lease`: only the lease state (free); `links`: also the open files' link counts (two fstat
   * calls, after every commit); `paths`: also the paths' device + inode (heartbeat). Returns the
   * reason, or null.
   */
  private checkFiles(depth: "lease" | "links" | "paths"): string | null {
    if (this.failure) return this.failure;
    const reason = this.lease?.lost ?? (depth === "lease" ? null : (this.guard?.check(depth === "paths") ?? null));
    if (reason) {
      this.failure = reason;
      this.log?.error({ db: this.path, reason }, `journal unavailable: ${reason}; every commit now fails with journal_unavailable until causeway is restarted on an intact journal (restore a backup first if the file is gone)`);
    }
    return reason;
  }

  // ---------------------------------------------------------------------------------------------
  // query side

  /** The WAL checkpoint worker (checkpointer.ts), or null when the writer checkpoints by itself. */
  checkpoints(): Checkpointer | null {
    return this.checkpointer;
  }

  /** The admission filter (known-ids.ts): its size, entries, and whether it is in use yet. */
  filterStats(): { bits: number; entries: number; ready: boolean } {
    return this.known.stats();
  }

  getCommand(commandId: string): StoredCommand | undefined {
    if (!this.known.mayHaveCommand(commandId)) return undefined;
    this.projected();
    const row = this.statements().getCommand.get(commandId) as CommandRow | undefined;
    return row ? rowToStoredCommand(row) : undefined;
  }

  history(q: HistoryRequest): HistoryPage {
    return queryHistory(this.projected(), q);
  }

  historyEntries(q: EntriesRequest): HistoryEntries {
    return queryEntries(this.projected(), q);
  }

  commandDetail(commandId: string, opts: { maxRows: number }): CommandDetail | undefined {
    return getCommandDetail(this.projected(), commandId, opts);
  }

  readJournal(opts: ReadJournalOptions): JournalRecord[] {
    return readJournal(this.raw(), opts);
  }

  causalFields(commandId: string): CausalFields | undefined {
    return readCausalFields(this.projected(), commandId);
  }

  firstRetainedSeq(): number {
    return firstRetainedSeq(this.raw());
  }

  /** In memory: the writer's connection (nothing else can open it); a file: a read-only connection of its own. */
  openAuditReads(): AuditReads {
    const db = this.projected();
    return this.memory ? new SqliteAuditReads(db, { shared: true }) : openAuditDatabase(this.path);
  }

  // ---------------------------------------------------------------------------------------------
  // write side

  getIdempotency(scope: string, key: string, now: number): IdempotencyHit | undefined {
    if (!this.known.mayHaveKey(scope, key)) return undefined;
    this.projected();
    const row = this.statements().getIdempotency.get(scope, key, now) as { command_id: string; fingerprint: string | null } | undefined;
    return row ? { commandId: row.command_id, fingerprint: row.fingerprint } : undefined;
  }

  async compact(policy: RetentionPolicy, now: () => number): Promise<CompactionReport | null> {
    const db = this.projected();
    const cut = planCut(db, policy, now());
    if (cut === 0) return null;
    // between its steps commits may defer derived rows again: each step reads the tables flushed
    return compact(db, cut, policy.batchRows, now, () => new Promise<void>((r) => setImmediate(r)).then(() => void this.projected()));
  }

  stats(): StoreStats {
    return {
      kind: this.kind,
      path: this.memory ? null : this.path,
      failure: this.failure,
      schemaVersion: this.schemaVersion,
      commits: this.commits,
      commitFailures: this.commitFailures,
      recordsWritten: this.recordsWritten,
      lastBatchSize: this.lastBatchSize,
    };
  }

  /**
   * The open connection, for the journal's own modules and tools (import, old-journal fixtures) and
   * tests, its derived tables up to date (projection.ts); not part of the Store contract. Writes of
   * journal data go through commit() only.
   */
  database(): Database.Database {
    return this.projected();
  }

  /** The connection, every deferred derived row written first. */
  private projected(): Database.Database {
    this.raw();
    this.projection?.settle(this.lastSeq);
    return this.raw();
  }

  private raw(): Database.Database {
    if (!this.db) throw new Error(`journal ${this.path} is not open`);
    return this.db;
  }

  /** Read a PRAGMA of the writer connection (diagnostics and tests), e.g. readPragma("synchronous"). */
  readPragma(name: string): unknown {
    if (!/^[a-z_]+$/.test(name)) throw new Error(`invalid pragma name ${name}`);
    if (!this.db) throw new Error(`store ${this.path} is not open`);
    return this.db.pragma(name, { simple: true });
  }

  /** The lease token while open (file databases), for diagnostics. */
  get leaseToken(): string | null {
    return this.lease?.token ?? null;
  }

  close(): void {
    const db = this.db;
    this.flushBeforeClose();
    this.known.stop();
    void this.checkpointer?.stop();
    this.checkpointer = null;
    this.lease?.release();
    this.lease = null;
    this.guard?.close();
    this.guard = null;
    this.db = null;
    this.st = null;
    this.txn = null;
    if (db?.open) db.close();
  }

  /** What is deferred is written at close (if that fails, the next open catches up from the journal). */
  private flushBeforeClose(): void {
    try {
      if (this.db?.open && !this.failure) this.projection?.settle(this.lastSeq);
    } catch (err) {
      this.log?.error({ db: this.path, err: String(err) }, "projection flush at close failed; the next open catches up from the journal");
    }
    this.projection?.stop();
    this.projection = null;
  }

  private statements(): Statements {
    if (!this.st) throw new Error(`store ${this.path} is not open`);
    return this.st;
  }
}

/** A crashed holder's lease is the engine's to report (staleLeaseTakenOver); the store explains stale and forced takeovers. */
function reportTakeover(t: LeaseTakeover, recovered: RecoveredState, path: string, log: StoreLog | undefined): void {
  if (t.kind !== "forced") recovered.staleLeaseTakenOver = t.holder;
  if (t.kind !== "dead") log?.warn({ db: path, previousHolder: t.holder, takeover: t.kind, why: t.why }, `took over the journal lease of pid ${t.holder.pid} on ${t.holder.host}: ${t.why}`);
}
