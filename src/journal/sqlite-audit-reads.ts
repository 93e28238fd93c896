/**
 * The audit's reads (audit-reads.ts) on an SQLite journal: the writer's own connection (an
 * in-memory journal) or a read-only connection opened on a journal file, never creating it and
 * never taking the writer's lease. A file reader works next to a running server (WAL: readers and
 * the writer proceed concurrently) and on a copy (copy the `-wal` file along with the database
 * while a server may hold it open).
 */
import Database from "better-sqlite3";
import type { AuditCheckpoint, AuditReads, CommandCheckRow, FinishedRow, IdempotencyTableRow, JournalBounds, LanesTableRow, PageRequest, SessionEffectRow, SessionRows, SessionsTableRow } from "./audit-reads.js";
import type { CommandsTableRow } from "./codec.js";
import { assertReadableJournal } from "./file-identity.js";
import { stmt } from "./queries/statements.js";
import { rowToRecord, type JournalRow } from "./reader.js";
import type { JournalRecord } from "./record.js";
import { caughtUpCopy, projectionLag, type ProjectionLag } from "./projection.js";
import { latestCheckpoint } from "./retention.js";
import { readSessionState } from "./session-states.js";

export class AuditOpenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AuditOpenError";
  }
}

/** Open a journal file for the audit: read-only, refusing another application's file. */
export function openAuditDatabase(path: string): SqliteAuditReads {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new AuditOpenError(`cannot open ${path} read-only: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    db.pragma("busy_timeout = 5000");
    // refuse another application's file, or one without causeway's tables, before reading anything else
    assertReadableJournal(db, path);
  } catch (err) {
    db.close();
    throw err;
  }
  // derived tables behind the journal (a kill -9 before their flush, projection.ts): audit a private
  // copy caught up as a restart would, and say so
  const lag = projectionLag(db);
  if (!lag) return new SqliteAuditReads(db, { shared: false });
  try {
    const copy = caughtUpCopy(db);
    return new SqliteAuditReads(new Database(copy.path, { readonly: true, fileMustExist: true }), { shared: false, lag, cleanup: copy.remove });
  } finally {
    db.close();
  }
}

const SQL = {
  last: "SELECT coalesce(max(seq), 0) AS s FROM journal",
  first: "SELECT coalesce(min(seq), 0) AS s FROM journal",
  hasCheckpoints: "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'checkpoints'",
  sessionRowCount: "SELECT count(*) AS n FROM journal WHERE seq > ? AND seq <= ? AND (lane = ? OR lane = 'server')",
  history: "SELECT * FROM journal WHERE command_id = ? AND seq < ? AND phase IN ('accepted','started','requeued','finished') ORDER BY seq LIMIT 256",
  finished: "SELECT seq, lane, outcome FROM journal WHERE command_id = ? AND phase = 'finished' AND seq < ? ORDER BY seq LIMIT 1",
  laneRow: "SELECT seq FROM journal WHERE lane = ? AND lane_seq = ?",
  effects: `SELECT seq, command_id, effect, recorded_at FROM journal
         WHERE seq < @before AND seq >= @floor AND phase = 'finished' AND effect IS NOT NULL AND (lane = @lane OR lane = 'server')
         ORDER BY seq DESC`,
  acceptedAt: "SELECT recorded_at AS at FROM journal WHERE command_id = ? AND phase = 'accepted' ORDER BY seq LIMIT 1",
  command: "SELECT * FROM commands WHERE command_id = ?",
  // SQLite compares the copied columns with the journal rows they came from, so no JSON text
  // crosses into JS unless something differs
  commandCheck: `SELECT c.accepted_seq AS accepted_seq, c.finished_seq AS finished_seq, c.started_at AS started_at, c.status AS status,
           c.accepted_at AS accepted_at, c.finished_at AS finished_at,
           (a.command_id IS c.command_id AND a.lane IS c.lane AND a.session_id IS c.session_id AND a.type IS c.type AND a.actor IS c.actor
             AND a.fingerprint IS c.fingerprint AND coalesce(a.explicit_id, 0) IS c.explicit_id AND a.idempotency_key IS c.idempotency_key
             AND a.idempotency_scope IS c.idempotency_scope AND a.depends_on IS c.depends_on AND a.if_session_version IS c.if_session_version
             AND a.params IS c.params AND a.timeout_ms IS c.timeout_ms) AS envelope_ok,
           (f.outcome IS c.outcome) AS outcome_ok
         FROM commands c LEFT JOIN journal a ON a.seq = c.accepted_seq LEFT JOIN journal f ON f.seq = c.finished_seq
         WHERE c.command_id = ?`,
  session: "SELECT session_id, version, created_at, updated_at, deleted_at FROM sessions WHERE session_id = ?",
  lane: "SELECT last_lane_seq, updated_at FROM lanes WHERE lane = ?",
  key: "SELECT command_id, fingerprint, expires_at FROM idempotency WHERE scope = ? AND key = ?",
  commandsAfterCount: "SELECT count(*) AS n FROM commands WHERE accepted_seq > ?",
  commandsAfter: "SELECT command_id FROM commands WHERE accepted_seq > ?",
  lanesCount: "SELECT count(*) AS n FROM lanes",
  lanes: "SELECT lane FROM lanes",
  keysCount: "SELECT count(*) AS n FROM idempotency",
} as const;

const SESSIONS_SQL: Record<SessionRows, string> = {
  all: "SELECT session_id FROM sessions",
  live: "SELECT session_id FROM sessions WHERE deleted_at IS NULL",
};

/**
 * Page statements per database, in raw mode: better-sqlite3 builds a named-property object per row
 * in C++ (slow: a full audit spent ~25% of its time there); arrays plus one generated JS function
 * that names the columns read the same rows about 3× faster. Same rows, same JournalRecords.
 */
interface PageReader {
  all: Database.Statement;
  session: Database.Statement;
  toRow: (values: unknown[]) => JournalRow;
}

const pageReaders = new WeakMap<Database.Database, PageReader>();

function pageReader(db: Database.Database): PageReader {
  let r = pageReaders.get(db);
  if (r) return r;
  const all = db.prepare("SELECT * FROM journal WHERE seq > @after AND seq <= @to ORDER BY seq LIMIT @limit").raw(true);
  const session = db
    .prepare("SELECT * FROM journal WHERE seq > @after AND seq <= @to AND (lane = @lane OR lane = 'server') ORDER BY seq LIMIT @limit")
    .raw(true);
  const names = all.columns().map((c) => c.name);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- column names come from the schema, not from input
  const toRow = new Function("v", `return {${names.map((n, i) => `${JSON.stringify(n)}: v[${i}]`).join(", ")}};`) as (values: unknown[]) => JournalRow;
  r = { all, session, toRow };
  pageReaders.set(db, r);
  return r;
}

export class SqliteAuditReads implements AuditReads {
  /** whether the journal has session_states (schema v6) */
  private v6: boolean | undefined;
  /** `shared`: the writer's own connection, left open by close(); `lag`/`cleanup`: a caught-up copy of a lagging file (projection.ts) */
  constructor(
    private readonly db: Database.Database,
    private readonly opts: { shared: boolean; lag?: ProjectionLag; cleanup?: () => void },
  ) {}

  projectionLag(): ProjectionLag | null {
    return this.opts.lag ?? null;
  }

  private get<T>(sql: string, ...args: unknown[]): T | undefined {
    return stmt(this.db, sql).get(...args) as T | undefined;
  }

  private count(sql: string, ...args: unknown[]): number {
    return (stmt(this.db, sql).get(...args) as { n: number }).n;
  }

  bounds(): JournalBounds {
    return { lastSeq: this.get<{ s: number }>(SQL.last)!.s, firstSeq: this.get<{ s: number }>(SQL.first)!.s };
  }

  /** Straight from the `checkpoints` table, absent on journals of schema < 4 that were never opened by a newer server. */
  latestCheckpoint(): AuditCheckpoint | null {
    if (this.get(SQL.hasCheckpoints) === undefined) return null;
    const cp = latestCheckpoint(this.db);
    return cp ? { seq: cp.seq, sessions: cp.sessions, lanes: cp.lanes } : null;
  }

  readPage(req: PageRequest): JournalRecord[] {
    const r = pageReader(this.db);
    const rows =
      req.sessionId === undefined
        ? (r.all.all({ after: req.afterSeq, to: req.toSeq, limit: req.limit }) as unknown[][])
        : (r.session.all({ after: req.afterSeq, to: req.toSeq, lane: `session:${req.sessionId}`, limit: req.limit }) as unknown[][]);
    const out: JournalRecord[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = rowToRecord(r.toRow(rows[i]!));
    return out;
  }

  countRows(afterSeq: number, toSeq: number, sessionId?: string): number {
    // seq is gap-free: a whole window's rows need no count
    if (sessionId === undefined) return Math.max(0, toSeq - afterSeq);
    return this.count(SQL.sessionRowCount, afterSeq, toSeq, `session:${sessionId}`);
  }

  /**
   * One read transaction: the snapshot starts at its first read and holds WAL checkpoints back (the
   * server's -wal file grows until the audit ends).
   */
  async withSnapshot<T>(fn: () => Promise<T>): Promise<T> {
    this.db.exec("BEGIN");
    try {
      this.db.prepare("SELECT count(*) FROM sqlite_master").get();
      return await fn();
    } finally {
      if (this.db.inTransaction) this.db.exec("COMMIT");
    }
  }

  commandHistoryBefore(commandId: string, beforeSeq: number): JournalRecord[] {
    return (stmt(this.db, SQL.history).all(commandId, beforeSeq) as JournalRow[]).map(rowToRecord);
  }

  finishedRowBefore(commandId: string, beforeSeq: number): FinishedRow | undefined {
    return this.get<FinishedRow>(SQL.finished, commandId, beforeSeq);
  }

  laneRowSeq(lane: string, laneSeq: number): number | undefined {
    return this.get<{ seq: number }>(SQL.laneRow, lane, laneSeq)?.seq;
  }

  sessionEffectsBefore(lane: string, beforeSeq: number, floorSeq: number): Iterable<SessionEffectRow> {
    return stmt(this.db, SQL.effects).iterate({ before: beforeSeq, floor: floorSeq, lane }) as Iterable<SessionEffectRow>;
  }

  acceptedAt(commandId: string): number | undefined {
    return this.get<{ at: number }>(SQL.acceptedAt, commandId)?.at;
  }

  commandRow(commandId: string): CommandsTableRow | undefined {
    return this.get<CommandsTableRow>(SQL.command, commandId);
  }

  commandCheck(commandId: string): CommandCheckRow | undefined {
    return this.get<CommandCheckRow>(SQL.commandCheck, commandId);
  }

  /** The sessions row, with the state a restart would load (its checkpoint and the patches after it). */
  sessionRow(sessionId: string): SessionsTableRow | undefined {
    // a journal before schema v6 (read-only audits do not migrate) keeps the whole state in the row
    this.v6 ??= this.get<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'session_states'")!.n === 1;
    if (!this.v6) return this.get<SessionsTableRow>("SELECT session_id, state, version, created_at, updated_at, deleted_at FROM sessions WHERE session_id = ?", sessionId);
    const row = this.get<Omit<SessionsTableRow, "state">>(SQL.session, sessionId);
    if (!row) return undefined;
    if (row.deleted_at !== null) return { ...row, state: "null" };
    let state: string;
    try {
      state = JSON.stringify(readSessionState(this.db, sessionId)?.state ?? null);
    } catch (err) {
      state = JSON.stringify({ unreadable: (err as Error).message });
    }
    return { ...row, state };
  }

  laneRow(lane: string): LanesTableRow | undefined {
    return this.get<LanesTableRow>(SQL.lane, lane);
  }

  idempotencyRow(scope: string, key: string): IdempotencyTableRow | undefined {
    return this.get<IdempotencyTableRow>(SQL.key, scope, key);
  }

  countCommandsAcceptedAfter(seq: number): number {
    return this.count(SQL.commandsAfterCount, seq);
  }

  *commandIdsAcceptedAfter(seq: number): Iterable<string> {
    for (const r of stmt(this.db, SQL.commandsAfter).iterate(seq) as Iterable<{ command_id: string }>) yield r.command_id;
  }

  countSessions(which: SessionRows): number {
    return this.count(`SELECT count(*) AS n FROM (${SESSIONS_SQL[which]})`);
  }

  *sessionIds(which: SessionRows): Iterable<string> {
    for (const r of stmt(this.db, SESSIONS_SQL[which]).iterate() as Iterable<{ session_id: string }>) yield r.session_id;
  }

  countLanes(): number {
    return this.count(SQL.lanesCount);
  }

  laneNames(): string[] {
    return (stmt(this.db, SQL.lanes).all() as Array<{ lane: string }>).map((r) => r.lane);
  }

  countIdempotencyKeys(): number {
    return this.count(SQL.keysCount);
  }

  close(): void {
    if (!this.opts.shared && this.db.open) this.db.close();
    this.opts.cleanup?.();
  }
}
