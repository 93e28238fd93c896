/**
 * The journal as the audit reads it: bounds, the latest compaction checkpoint (if any), and
 * bounded pages of records in seq order.
 */
import type Database from "better-sqlite3";
import { rowToRecord, type JournalRow } from "../journal/reader.js";
import type { JournalRecord } from "../journal/types.js";

export interface JournalBounds {
  /** 0 for an empty journal */
  lastSeq: number;
  /** the lowest seq present (0 for an empty journal) */
  firstSeq: number;
}

export function journalBounds(db: Database.Database): JournalBounds {
  const last = db.prepare("SELECT coalesce(max(seq), 0) AS s FROM journal").get() as { s: number };
  const first = db.prepare("SELECT coalesce(min(seq), 0) AS s FROM journal").get() as { s: number };
  return { lastSeq: last.s, firstSeq: first.s };
}

/**
 * What compaction (src/journal/retention.ts) left in place of the removed prefix: session states
 * and versions and lane heads as of `seq`. Read straight from the `checkpoints` table (absent on
 * journals that were never compacted).
 */
export interface AuditCheckpoint {
  seq: number;
  sessions: Record<string, { state: unknown; version: number; createdAt: number }>;
  lanes: Record<string, number>;
}

export function latestCheckpoint(db: Database.Database): AuditCheckpoint | null {
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'checkpoints'").get();
  if (!table) return null;
  const row = db.prepare("SELECT seq, sessions, lanes FROM checkpoints ORDER BY seq DESC LIMIT 1").get() as
    | { seq: number; sessions: string; lanes: string }
    | undefined;
  if (!row) return null;
  return { seq: row.seq, sessions: JSON.parse(row.sessions) as AuditCheckpoint["sessions"], lanes: JSON.parse(row.lanes) as AuditCheckpoint["lanes"] };
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

const readers = new WeakMap<Database.Database, PageReader>();

function pageReader(db: Database.Database): PageReader {
  let r = readers.get(db);
  if (r) return r;
  const all = db.prepare("SELECT * FROM journal WHERE seq > @after AND seq <= @to ORDER BY seq LIMIT @limit").raw(true);
  const session = db
    .prepare("SELECT * FROM journal WHERE seq > @after AND seq <= @to AND (lane = @lane OR lane = 'server') ORDER BY seq LIMIT @limit")
    .raw(true);
  const names = all.columns().map((c) => c.name);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- column names come from the schema, not from input
  const toRow = new Function("v", `return {${names.map((n, i) => `${JSON.stringify(n)}: v[${i}]`).join(", ")}};`) as (values: unknown[]) => JournalRow;
  r = { all, session, toRow };
  readers.set(db, r);
  return r;
}

/** One page of records in seq order. */
export function readPage(db: Database.Database, req: PageRequest): JournalRecord[] {
  const r = pageReader(db);
  const rows =
    req.sessionId === undefined
      ? (r.all.all({ after: req.afterSeq, to: req.toSeq, limit: req.limit }) as unknown[][])
      : (r.session.all({ after: req.afterSeq, to: req.toSeq, lane: `session:${req.sessionId}`, limit: req.limit }) as unknown[][]);
  const out: JournalRecord[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = rowToRecord(r.toRow(rows[i]!));
  return out;
}

/** Rows in scope of a window (for progress totals). */
export function countRows(db: Database.Database, afterSeq: number, toSeq: number, sessionId?: string): number {
  if (sessionId === undefined) return Math.max(0, toSeq - afterSeq);
  const r = db
    .prepare("SELECT count(*) AS n FROM journal WHERE seq > ? AND seq <= ? AND (lane = ? OR lane = 'server')")
    .get(afterSeq, toSeq, `session:${sessionId}`) as { n: number };
  return r.n;
}
