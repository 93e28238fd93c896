/**
 * The SQLite journal behind the `Store` seam (better-sqlite3, synchronous).
 *
 * - File databases run in WAL mode with `synchronous` chosen by the durability mode, and are
 *   guarded by a single-writer lease (lease.ts). ":memory:" is the in-memory store (kind "memory",
 *   no lease, nothing survives close()).
 * - commit(records) appends the records to `journal` and materializes `commands`, `idempotency`,
 *   `sessions` and `lanes` in ONE immediate transaction. Any violation (seq / lane_seq gap,
 *   duplicate command id, second terminal outcome, held idempotency key, bad session effect) or
 *   SQLite error rolls the whole batch back and surfaces as JournalWriteError.
 * - The writer keeps the global seq and the lane heads in memory (loaded at open; the lease makes
 *   this process the only writer) and updates them only after a transaction committed.
 *
 * docs/journal-schema.md describes the schema, invariants and durability guarantees.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { Durability } from "../config/defaults.js";
import {
  UNFINISHED_COLUMNS,
  rowToSession,
  rowToStoredCommand,
  rowToUnfinished,
  toBit,
  toJson,
  toJsonNotNull,
  type CommandRow,
  type SessionRow,
  type UnfinishedRow,
} from "./codec.js";
import { FaultInjector, type FaultKind } from "./fault.js";
import { FileGuard } from "./file-guard.js";
import { inspectJournalFile, markJournalFile } from "./file-identity.js";
import { DEFAULT_LEASE_HEARTBEAT_MS, Lease, assertSingleLink, type LeaseTakeover } from "./lease.js";
import { UNFINISHED_SQL_LIST, assertSchemaNotTooNew, runMigrations } from "./migrations/index.js";
import { encodeEffect, prepareStatements, type Statements } from "./statements.js";
import { TransitionStatements } from "./transition-sql.js";
import { JournalWriteError, type IdempotencyHit, type JournalRecord, type LeaseHolder, type RecoveredState, type StoreLog, type StoreStats, type Store, type StoredCommand } from "./types.js";
import { TERMINAL_STATUSES, TRANSITION_PHASES } from "../lifecycle/status.js";

export interface SqliteStoreOptions {
  /** database file path, or ":memory:" for the in-memory store */
  path: string;
  durability: Durability;
  /** test-only: make the Nth commit() call since open (1-based) fail; 0/undefined disables */
  faultFailCommit?: number;
  /** test-only: how many consecutive commits fail once the fault triggers (default 1) */
  faultFailCount?: number;
  /** test-only: the SQLite error the failing commits raise (default ioerr) */
  faultKind?: FaultKind;
  /** single-writer lease heartbeat interval (default 2000 ms) */
  leaseHeartbeatMs?: number;
  /** clock for lease timestamps (default Date.now) */
  now?: () => number;
  /** SQLite busy_timeout in ms (default 250) */
  busyTimeoutMs?: number;
  /** where a store that fails closed (files deleted, lease lost) or takes a lease over says so (default: nowhere) */
  log?: StoreLog;
  /** take the single-writer lease even from a holder that looks alive (config takeOverLease; logged) */
  takeOverLease?: boolean;
}

const SYNCHRONOUS: Record<Durability, string> = { full: "FULL", normal: "NORMAL", off: "OFF" };
const TERMINAL = new Set<string>(TERMINAL_STATUSES);
const TRANSITION_SET = new Set<string>(TRANSITION_PHASES);

/** An invariant violated by a batch; always rolls the transaction back. */
class InvariantViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvariantViolation";
  }
}


interface BatchResult {
  lastSeq: number;
  lanes: Map<string, LaneUpdate>;
}

interface LaneUpdate {
  laneSeq: number;
  at: number;
}

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
  private txn: Database.Transaction<(records: JournalRecord[], commitNo: number) => BatchResult> | null = null;
  /** the transition table compiled into compare-and-swap UPDATEs */
  private tx: TransitionStatements | null = null;
  private lease: Lease | null = null;
  /** the database and -wal files as opened (file databases) */
  private guard: FileGuard | null = null;
  /** why the store failed closed for good; null while healthy */
  private failure: string | null = null;
  private readonly log: StoreLog | undefined;
  private readonly takeOverLease: boolean;

  private lastSeq = 0;
  /** within one batch: max(commands.accepted_at) so far (undefined: not read yet) */
  private batchMaxAcceptedAt: number | null | undefined;
  private readonly laneHeads = new Map<string, number>();
  private schemaVersion = 0;
  private commitCalls = 0;
  private commits = 0;
  private commitFailures = 0;
  private recordsWritten = 0;
  private lastBatchSize = 0;

  constructor(opts: SqliteStoreOptions) {
    this.path = opts.path;
    this.memory = opts.path === ":memory:";
    this.kind = this.memory ? "memory" : "sqlite";
    this.durability = opts.durability;
    if (!Object.hasOwn(SYNCHRONOUS, opts.durability)) throw new Error(`unknown durability mode: ${String(opts.durability)}`);
    this.heartbeatMs = opts.leaseHeartbeatMs ?? DEFAULT_LEASE_HEARTBEAT_MS;
    this.now = opts.now ?? Date.now;
    this.busyTimeoutMs = opts.busyTimeoutMs ?? 250;
    this.log = opts.log;
    this.takeOverLease = opts.takeOverLease ?? false;
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
        lease = new Lease({ db, path: this.path, heartbeatMs: this.heartbeatMs, now: this.now, takeOver: this.takeOverLease });
        takeover = lease.acquire();
      }
      this.schemaVersion = runMigrations(db, this.path);
      lease?.beat(); // a long migration must not make our fresh lease look abandoned
      // a journal from before the mark existed gets it, under the lease
      if (kind === "unmarked") markJournalFile(db);

      this.db = db;
      this.st = prepareStatements(db);
      this.tx = new TransitionStatements(db);
      this.txn = db.transaction((records: JournalRecord[], commitNo: number) => this.applyBatch(records, commitNo));

      const recovered = this.recover(db);
      if (takeover) this.reportTakeover(takeover, recovered);
      this.lease = lease;
      this.failure = null;
      this.guard = this.memory ? null : new FileGuard([this.path, `${this.path}-wal`]);
      lease?.startHeartbeat(() => this.checkFiles("paths"));
      this.commitCalls = 0;
      return recovered;
    } catch (err) {
      lease?.release();
      this.db = null;
      this.st = null;
      this.tx = null;
      this.txn = null;
      if (db.open) db.close();
      throw err;
    }
  }

  private recover(db: Database.Database): RecoveredState {
    const lastSeq = (db.prepare("SELECT coalesce(max(seq), 0) AS s FROM journal").get() as { s: number }).s;
    const laneRows = db.prepare("SELECT lane, last_lane_seq FROM lanes ORDER BY lane").all() as Array<{
      lane: string;
      last_lane_seq: number;
    }>;
    this.lastSeq = lastSeq;
    this.laneHeads.clear();
    for (const r of laneRows) this.laneHeads.set(r.lane, r.last_lane_seq);
    const sessions = (
      db
        .prepare(
          "SELECT session_id, state, version, created_at FROM sessions WHERE deleted_at IS NULL ORDER BY session_id",
        )
        .all() as SessionRow[]
    ).map(rowToSession);
    const unfinished = (
      db
        .prepare(
          `SELECT ${UNFINISHED_COLUMNS} FROM commands WHERE status IN (${UNFINISHED_SQL_LIST}) ORDER BY accepted_seq`,
        )
        .all() as UnfinishedRow[]
    ).map(rowToUnfinished);
    return {
      sessions,
      laneSeqs: laneRows.map((r) => ({ lane: r.lane, laneSeq: r.last_lane_seq })),
      lastSeq,
      unfinished,
      schemaVersion: this.schemaVersion,
    };
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
    let result: BatchResult;
    try {
      result = this.txn.immediate(records, commitNo);
    } catch (err) {
      this.commitFailures++;
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
    this.lastSeq = result.lastSeq;
    for (const [lane, u] of result.lanes) this.laneHeads.set(lane, u.laneSeq);
    this.commits++;
    this.recordsWritten += records.length;
    this.lastBatchSize = records.length;
  }

  /** A crashed holder's lease is the engine's to report (staleLeaseTakenOver); the store explains stale and forced takeovers. */
  private reportTakeover(t: LeaseTakeover, recovered: RecoveredState): void {
    if (t.kind !== "forced") recovered.staleLeaseTakenOver = t.holder;
    if (t.kind !== "dead") {
      this.log?.warn({ db: this.path, previousHolder: t.holder, takeover: t.kind, why: t.why }, `took over the journal lease of pid ${t.holder.pid} on ${t.holder.host}: ${t.why}`);
    }
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

  /** The transaction body: append + materialize every record, then the lane heads. */
  private applyBatch(records: JournalRecord[], commitNo: number): BatchResult {
    const st = this.st!;
    const tx = this.tx!;
    const lanes = new Map<string, LaneUpdate>();
    // single writer: the lease row must still be ours, read under this transaction's write lock
    if (this.lease && !this.lease.verify()) throw new JournalWriteError(`journal ${this.path}: ${this.lease.lost}`);
    let seq = this.lastSeq;
    let i = 0;
    this.batchMaxAcceptedAt = undefined;
    try {
      for (; i < records.length; i++) {
        const orig = records[i]!;
        // rows written before schema 5 (imported traces) carry no revision: they materialize as the
        // next one, and the journal keeps the row exactly as it came
        const r = TRANSITION_SET.has(orig.phase) && typeof orig.revision !== "number" ? tx.legacyRow(orig) : orig;
        if (r.seq !== seq + 1) {
          throw new InvariantViolation(`seq must be gap-free: got ${r.seq}, expected ${seq + 1}`);
        }
        const pending = lanes.get(r.lane);
        const laneHead = pending ? pending.laneSeq : (this.laneHeads.get(r.lane) ?? 0);
        if (r.laneSeq !== laneHead + 1) {
          throw new InvariantViolation(
            `lane_seq must be gap-free in lane ${r.lane}: got ${r.laneSeq}, expected ${laneHead + 1}`,
          );
        }
        const paramsJson = toJson(r.params);
        const dependsJson = toJson(r.dependsOn);
        const outcomeJson = toJson(r.outcome);
        // session state is serialized once and shared by journal.effect and sessions.state
        const effect = r.effect;
        const stateJson = effect && effect.kind !== "delete" ? toJsonNotNull(effect.state) : null;
        const effectJson = effect ? encodeEffect(effect, stateJson) : null;
        const journalArgs = [
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
          dependsJson,
          r.ifSessionVersion ?? null,
          paramsJson,
          r.timeoutMs ?? null,
          orig.status ?? null,
          outcomeJson,
          effectJson,
          r.idempotencyExpiresAt ?? null,
          toJson(r.detail),
          orig.revision ?? null,
        ];
        st.insertJournal.run(...journalArgs);
        if (TRANSITION_SET.has(r.phase)) {
          // every status change is a compare-and-swap through the transition table
          if (r.phase === "finished") this.applyFinished(st, tx, r, outcomeJson, stateJson);
          else {
            const refused = tx.apply(r);
            if (refused) throw new InvariantViolation(`${r.phase}: ${refused}`);
          }
          tx.recordDecision(r);
        } else switch (r.phase) {
          case "accepted":
            this.applyAccepted(st, tx, r, dependsJson, paramsJson);
            break;
          case "replayed":
          case "conflict":
            break;
          default:
            throw new InvariantViolation(`unknown journal phase ${String((r as JournalRecord).phase)}`);
        }
        seq = r.seq;
        if (pending) {
          pending.laneSeq = r.laneSeq;
          pending.at = r.recordedAt;
        } else {
          lanes.set(r.lane, { laneSeq: r.laneSeq, at: r.recordedAt });
        }
      }
    } catch (err) {
      const r = records[i];
      const where = r ? `record #${i} (seq ${r.seq}, ${r.phase} ${r.commandId})` : `record #${i}`;
      const msg = err instanceof Error ? err.message : String(err);
      throw new JournalWriteError(`journal commit rolled back: ${where}: ${msg}`, err);
    }
    for (const [lane, u] of lanes) st.upsertLane.run(lane, u.laneSeq, u.at);
    // test-only: fail after every write of the batch, before the transaction commits
    this.fault.check(commitNo);
    return { lastSeq: seq, lanes };
  }

  private applyAccepted(st: Statements, tx: TransitionStatements, r: JournalRecord, dependsJson: string | null, paramsJson: string | null): void {
    // history: clock_regressions lists every command accepted at an earlier time than a command
    // before it (max(accepted_at) is read once per batch, before this row exists)
    if (this.batchMaxAcceptedAt === undefined) this.batchMaxAcceptedAt = (st.maxAcceptedAt.get() as { m: number | null }).m;
    const max = this.batchMaxAcceptedAt;
    if (max !== null && r.recordedAt < max) st.insertClockRegression.run(r.seq, r.recordedAt, max);
    this.batchMaxAcceptedAt = max === null ? r.recordedAt : Math.max(max, r.recordedAt);
    const commandArgs: unknown[] = [
      r.commandId,
      r.lane,
      r.sessionId ?? null,
      r.type,
      r.actor,
      r.fingerprint ?? null,
      r.explicitId ? 1 : 0,
      r.idempotencyKey ?? null,
      r.idempotencyScope ?? null,
      dependsJson,
      r.ifSessionVersion ?? null,
      paramsJson,
      r.timeoutMs ?? null,
      r.seq,
      r.recordedAt,
    ];
    const tags = Array.isArray(r.detail?.tags) ? (r.detail.tags as string[]) : null;
    const notBefore = typeof r.detail?.notBefore === "number" ? r.detail.notBefore : null;
    commandArgs.push(tags && tags.length > 0 ? JSON.stringify(tags) : null, notBefore, r.recordedAt);
    st.insertCommand.run(...commandArgs);
    if (tags) for (const t of tags) tx.insertTag(t, r.seq, r.commandId);
    // history: "who depends on X" is an index lookup on command_dependencies
    const deps = r.dependsOn;
    if (deps) for (const d of deps) st.insertDependency.run(r.commandId, d, r.seq);
    const key = r.idempotencyKey ?? null;
    if (key !== null) {
      const scope = r.idempotencyScope ?? null;
      if (scope === null) throw new InvariantViolation(`idempotency key ${key} without an idempotency scope`);
      const info = st.claimIdempotency.run(scope, key, r.commandId, r.fingerprint ?? null, r.recordedAt);
      if (info.changes !== 1) {
        throw new InvariantViolation(`idempotency key (${scope}, ${key}) is still held by another command`);
      }
    }
  }

  private applyFinished(st: Statements, tx: TransitionStatements, r: JournalRecord, outcomeJson: string | null, stateJson: string | null): void {
    const status = r.status;
    if (status === undefined || !TERMINAL.has(status)) {
      throw new InvariantViolation(`finished record needs a terminal status, got ${String(status)}`);
    }
    if (outcomeJson === null) throw new InvariantViolation("finished record without an outcome");
    const row = tx.finish(r, status, outcomeJson);
    if (!row) throw new InvariantViolation(`finished: ${tx.describeRefusal(r.commandId, status, r.revision)}`);
    // the command's key entry (if it has one) starts expiring; with no expiry given it stays NULL
    // (held, never expires)
    const expiresAt = r.idempotencyExpiresAt;
    if (typeof expiresAt === "number" && row.idempotency_key !== null && row.idempotency_scope !== null) {
      st.expireIdempotency.run(expiresAt, row.idempotency_scope, row.idempotency_key, r.commandId);
    }
    const e = r.effect;
    if (!e) return;
    switch (e.kind) {
      case "create": {
        const info = st.createSession.run(e.sessionId, stateJson, e.version, e.createdAt ?? r.recordedAt, r.recordedAt);
        if (info.changes !== 1) throw new InvariantViolation(`create: session ${e.sessionId} already exists`);
        break;
      }
      case "write": {
        const info = st.writeSession.run(stateJson, e.version, r.recordedAt, e.sessionId, e.version);
        if (info.changes !== 1) {
          const cur = st.sessionRow.get(e.sessionId) as { version: number; deleted_at: number | null } | undefined;
          const why = !cur
            ? "does not exist"
            : cur.deleted_at !== null
              ? "is deleted"
              : `is at version ${cur.version}, not below ${e.version}`;
          throw new InvariantViolation(`write: session ${e.sessionId} ${why}`);
        }
        break;
      }
      case "delete": {
        const info = st.deleteSession.run(r.recordedAt, r.recordedAt, e.sessionId);
        if (info.changes !== 1) throw new InvariantViolation(`delete: session ${e.sessionId} does not exist`);
        break;
      }
      default:
        throw new InvariantViolation(`unknown session effect ${String((e as { kind: unknown }).kind)}`);
    }
  }

  getCommand(commandId: string): StoredCommand | undefined {
    const row = this.statements().getCommand.get(commandId) as CommandRow | undefined;
    return row ? rowToStoredCommand(row) : undefined;
  }

  getIdempotency(scope: string, key: string, now: number): IdempotencyHit | undefined {
    const row = this.statements().getIdempotency.get(scope, key, now) as
      | { command_id: string; fingerprint: string | null }
      | undefined;
    return row ? { commandId: row.command_id, fingerprint: row.fingerprint } : undefined;
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
   * The open database connection, for read-only queries that live in their own modules (history,
   * journal reads, retention). Writes of journal data go through commit() only.
   */
  database(): Database.Database {
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
    this.lease?.release();
    this.lease = null;
    this.guard?.close();
    this.guard = null;
    this.db = null;
    this.st = null;
    this.tx = null;
    this.txn = null;
    if (db?.open) db.close();
  }

  private statements(): Statements {
    if (!this.st) throw new Error(`store ${this.path} is not open`);
    return this.st;
  }
}
