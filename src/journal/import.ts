/**
 * Import a causeway trace (export.ts) into an EMPTY journal.
 *
 * The records are re-committed through the store's commit() in batches, so the materialized tables
 * (commands, idempotency keys, sessions, lanes, …) are rebuilt by the same code path, with the same
 * invariant checks, as when the server wrote them. The whole import is one transaction: it either
 * lands completely or leaves the database empty.
 *
 * Numbering: the journal needs `seq` gap-free from 1 and `laneSeq` gap-free per lane. A filtered
 * trace (one session, a time window) has gaps, so records are renumbered in trace order; a record
 * whose seq or laneSeq changed keeps the original numbers in `detail.originalSeq` /
 * `detail.originalLaneSeq` (an already renumbered record keeps its first original numbers). An
 * unfiltered trace of a whole journal is already gap-free and is imported unchanged.
 *
 * A trace must be self-contained: every `started` / `finished` needs its command's `accepted`
 * record, every session write needs the session's creation. A trace cut by a time window usually
 * is not, and is refused with the record that broke the rule.
 */
import type { SqliteStore } from "./sqlite-store.js";
import { JournalWriteError, type JournalRecord } from "./types.js";
import { JOURNAL_PHASES, type JournalPhase } from "../lifecycle/status.js";
import { TRACE_FORMAT, TRACE_VERSION, type TraceHeader } from "./export.js";
import { UNFINISHED_SQL_LIST } from "./migrations/index.js";

export class ImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImportError";
  }
}

export interface ImportOptions {
  /** records per commit (default 500) */
  batchSize?: number;
  /** a name for the trace in error messages (default "trace") */
  source?: string;
}

export interface ImportReport {
  header: TraceHeader;
  records: number;
  /** records whose seq / laneSeq were renumbered */
  renumbered: number;
  commands: number;
  sessions: number;
  /** admitted commands without a terminal outcome in the trace (a server started on the db recovers them) */
  unfinished: number;
  lastSeq: number;
}

const PHASES = new Set<JournalPhase>(JOURNAL_PHASES);

/**
 * Import `lines` (a trace, header first; empty lines ignored) into the open, empty `store`.
 * Throws ImportError (bad trace, non-empty database, or a record the store refused, naming its
 * line). On failure nothing was imported; close the store (its in-memory counters are stale).
 */
export async function importTrace(lines: Iterable<string> | AsyncIterable<string>, store: SqliteStore, opts: ImportOptions = {}): Promise<ImportReport> {
  const trace = new TraceImport(store, opts.source ?? "trace", Math.max(1, opts.batchSize ?? 500));
  const db = store.database();
  assertEmptyJournal(db, `database ${store.stats().path ?? ":memory:"}`);
  db.exec("BEGIN IMMEDIATE");
  try {
    for await (const raw of lines) trace.line(raw);
    const header = trace.end();
    db.exec("COMMIT");
    const count = (sql: string): number => (db.prepare(sql).get() as { n: number }).n;
    return {
      header,
      records: trace.seq,
      renumbered: trace.renumbered,
      commands: count("SELECT count(*) AS n FROM commands"),
      sessions: count("SELECT count(*) AS n FROM sessions WHERE deleted_at IS NULL"),
      unfinished: count(`SELECT count(*) AS n FROM commands WHERE status IN (${UNFINISHED_SQL_LIST})`),
      lastSeq: trace.seq,
    };
  } catch (err) {
    if (db.inTransaction) db.exec("ROLLBACK");
    throw err;
  }
}

/** One trace being read: the header, the renumbering, and the batches committed to the store. */
class TraceImport {
  seq = 0;
  renumbered = 0;
  private header: TraceHeader | undefined;
  private lineNo = 0;
  private lastOriginalSeq = 0;
  private readonly laneSeqs = new Map<string, number>();
  private batch: JournalRecord[] = [];
  private batchLines: number[] = [];

  constructor(
    private readonly store: SqliteStore,
    private readonly source: string,
    private readonly batchSize: number,
  ) {}

  line(raw: string): void {
    const lineNo = ++this.lineNo;
    const line = raw.trim();
    if (line.length === 0) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new ImportError(`${this.source} line ${lineNo}: invalid JSON (${(err as Error).message})`);
    }
    if (!this.header) {
      this.header = checkHeader(value, `${this.source} line ${lineNo}`);
      return;
    }
    const r = checkRecord(value, `${this.source} line ${lineNo}`);
    if (r.seq <= this.lastOriginalSeq) throw new ImportError(`${this.source} line ${lineNo}: seq ${r.seq} is not above the previous record's seq ${this.lastOriginalSeq}`);
    this.lastOriginalSeq = r.seq;
    this.renumber(r);
    this.batch.push(r);
    this.batchLines.push(lineNo);
    if (this.batch.length >= this.batchSize) this.flush();
  }

  /** The last batch committed; returns the header. */
  end(): TraceHeader {
    if (!this.header) throw new ImportError(`${this.source}: empty (no trace header)`);
    this.flush();
    return this.header;
  }

  /** Gap-free numbering in trace order; a record renumbered keeps its first original numbers in detail. */
  private renumber(r: JournalRecord): void {
    const newSeq = ++this.seq;
    const newLaneSeq = (this.laneSeqs.get(r.lane) ?? 0) + 1;
    this.laneSeqs.set(r.lane, newLaneSeq);
    if (newSeq === r.seq && newLaneSeq === r.laneSeq) return;
    this.renumbered++;
    const detail = r.detail ?? {};
    r.detail = { ...detail, originalSeq: detail.originalSeq ?? r.seq, originalLaneSeq: detail.originalLaneSeq ?? r.laneSeq };
    r.seq = newSeq;
    r.laneSeq = newLaneSeq;
  }

  private flush(): void {
    if (this.batch.length === 0) return;
    try {
      this.store.commit(this.batch);
    } catch (err) {
      if (!(err instanceof JournalWriteError)) throw err;
      const m = /record #(\d+)/.exec(err.message);
      const at = m ? this.batchLines[Number(m[1])] : undefined;
      throw new ImportError(
        `${this.source}${at !== undefined ? ` line ${at}` : ""}: cannot be imported: ${err.message}` +
          " (a trace must be self-contained: a time-windowed export usually is not)",
      );
    }
    this.batch = [];
    this.batchLines = [];
  }
}

/** Import fills only a new journal: refused when `db` (a journal, or a Redis store's projection) holds anything. */
export function assertEmptyJournal(db: import("better-sqlite3").Database, what: string): void {
  const n = (table: string): number => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  const journal = n("journal");
  const commands = n("commands");
  const sessions = n("sessions");
  const checkpoints = n("checkpoints");
  if (journal + commands + sessions + checkpoints > 0) {
    const compacted = checkpoints > 0 ? `, compacted ${checkpoints} time${checkpoints === 1 ? "" : "s"}` : "";
    throw new ImportError(`${what} is not empty (${journal} journal rows, ${commands} commands, ${sessions} sessions${compacted}); import only into a new, empty database`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkHeader(value: unknown, where: string): TraceHeader {
  if (!isObject(value) || value.format !== TRACE_FORMAT) {
    throw new ImportError(`${where}: not a causeway trace (the first line must be a header with "format":"${TRACE_FORMAT}")`);
  }
  if (value.version !== TRACE_VERSION) {
    throw new ImportError(`${where}: trace format version ${JSON.stringify(value.version)} is not supported (this causeway reads version ${TRACE_VERSION})`);
  }
  return value as unknown as TraceHeader;
}

function checkRecord(value: unknown, where: string): JournalRecord {
  const bad = (what: string): never => {
    throw new ImportError(`${where}: not a journal record: ${what}`);
  };
  if (!isObject(value)) return bad("expected a JSON object");
  const int = (k: string): void => {
    if (!Number.isSafeInteger(value[k]) || (value[k] as number) < 1) bad(`${k} must be an integer >= 1`);
  };
  const str = (k: string): void => {
    if (typeof value[k] !== "string" || (value[k] as string).length === 0) bad(`${k} must be a non-empty string`);
  };
  int("seq");
  int("laneSeq");
  str("lane");
  str("commandId");
  str("type");
  if (typeof value.actor !== "string") bad("actor must be a string");
  if (!PHASES.has(value.phase as JournalPhase)) bad(`unknown phase ${JSON.stringify(value.phase)}`);
  if (!Number.isSafeInteger(value.recordedAt)) bad("recordedAt must be an integer (epoch ms)");
  if (value.sessionId !== null && value.sessionId !== undefined && typeof value.sessionId !== "string") bad("sessionId must be a string or null");
  if (value.fingerprint !== null && value.fingerprint !== undefined && typeof value.fingerprint !== "string") bad("fingerprint must be a string or null");
  if (value.detail !== undefined && value.detail !== null && !isObject(value.detail)) bad("detail must be an object or null");
  if (value.sessionId === undefined) value.sessionId = null;
  return value as unknown as JournalRecord;
}
