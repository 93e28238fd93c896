/**
 * Export the journal as a causeway trace: JSON lines, a header then one journal record per line in
 * `seq` order (the JournalRecord shape of reader.ts, camelCase keys, absent columns omitted).
 *
 *   {"format":"causeway-trace","version":1,"exportedAt":"2026-…Z","schemaVersion":3,"lastSeq":42,"filters":{…},"redact":{…}}
 *   {"seq":1,"lane":"server","laneSeq":1,"commandId":"c1","sessionId":null,"phase":"accepted",…}
 *
 * Filters:
 * - `from` / `to`: epoch ms or an ISO-8601 time, inclusive bounds on `recordedAt`;
 * - `sessionId`: the rows of that session (its lane `session:<id>`) plus the server-lane rows of
 *   the commands that named or affected it (create_session / delete_session, with their replays and
 *   conflicts), so a one-session trace can be imported on its own.
 * Every record passes through the redactor (the configured rules) again before it is written, so
 * rules added after the fact also apply to what was journaled before them.
 *
 * Reads page by page (`pageSize` rows) up to the last seq present when the export started.
 */
import Database from "better-sqlite3";
import { assertReadableJournal } from "./file-identity.js";
import { rowToRecord, type JournalRow } from "./reader.js";
import type { Redactor } from "./redaction.js";
import type { RedactRules } from "../config/redaction-rules.js";

export const TRACE_FORMAT = "causeway-trace";
export const TRACE_VERSION = 1;

export interface TraceFilters {
  sessionId?: string;
  /** epoch ms, inclusive */
  from?: number;
  /** epoch ms, inclusive */
  to?: number;
}

export interface TraceHeader {
  format: typeof TRACE_FORMAT;
  version: typeof TRACE_VERSION;
  /** ISO-8601 */
  exportedAt: string;
  /** schema version of the source database */
  schemaVersion: number;
  /** last seq of the source journal when the export started */
  lastSeq: number;
  filters: TraceFilters;
  /** the redaction rules applied on export */
  redact: RedactRules;
}

export interface ExportOptions {
  sessionId?: string | undefined;
  /** epoch ms, or an ISO-8601 time */
  from?: number | string | undefined;
  /** epoch ms, or an ISO-8601 time */
  to?: number | string | undefined;
  redactor?: Redactor | undefined;
  /** rows per read (default 500) */
  pageSize?: number;
  /** clock for `exportedAt` (default Date.now) */
  now?: () => number;
  /** called before the first page and after each page: the seq read up to, and the last seq exported */
  onProgress?: (seq: number, lastSeq: number) => void;
}

/** Parse a time bound: epoch milliseconds (digits) or an ISO-8601 date/time. */
export function parseTime(value: number | string, name = "time"): number {
  if (typeof value === "number") {
    if (Number.isSafeInteger(value)) return value;
  } else {
    const text = value.trim();
    if (/^-?\d+$/.test(text)) return Number(text);
    if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
      const ms = Date.parse(text);
      if (Number.isFinite(ms)) return ms;
    }
  }
  throw new Error(`${name}: expected epoch milliseconds or an ISO-8601 time, got ${JSON.stringify(value)}`);
}

/** The trace, line by line (no trailing newlines). */
export function* exportTrace(db: Database.Database, opts: ExportOptions = {}): Generator<string> {
  const filters: TraceFilters = {};
  if (opts.sessionId !== undefined) filters.sessionId = opts.sessionId;
  if (opts.from !== undefined) filters.from = parseTime(opts.from, "from");
  if (opts.to !== undefined) filters.to = parseTime(opts.to, "to");
  const pageSize = Math.max(1, opts.pageSize ?? 500);
  const schemaVersion = assertReadableJournal(db, db.name);
  const lastSeq = (db.prepare("SELECT coalesce(max(seq), 0) AS s FROM journal").get() as { s: number }).s;
  const redact = opts.redactor;

  const header: TraceHeader = {
    format: TRACE_FORMAT,
    version: TRACE_VERSION,
    exportedAt: new Date((opts.now ?? Date.now)()).toISOString(),
    schemaVersion,
    lastSeq,
    filters,
    redact: redact?.rules ?? {},
  };
  yield JSON.stringify(header);

  const where = ["seq > @after", "seq <= @last"];
  const params: Record<string, unknown> = { last: lastSeq, limit: pageSize };
  if (filters.from !== undefined) {
    where.push("recorded_at >= @from");
    params.from = filters.from;
  }
  if (filters.to !== undefined) {
    where.push("recorded_at <= @to");
    params.to = filters.to;
  }
  if (filters.sessionId !== undefined) {
    params.session = filters.sessionId;
    params.related = JSON.stringify(relatedServerCommands(db, filters.sessionId, lastSeq));
    const related = "(SELECT value FROM json_each(@related))";
    where.push(
      `(session_id = @session OR (lane = 'server' AND (command_id IN ${related}` +
        ` OR (phase IN ('replayed','conflict') AND (json_extract(detail, '$.replayOf') IN ${related} OR json_extract(detail, '$.conflictWith') IN ${related})))))`,
    );
  }
  const page = db.prepare(`SELECT * FROM journal WHERE ${where.join(" AND ")} ORDER BY seq LIMIT @limit`);
  let after = 0;
  opts.onProgress?.(0, lastSeq);
  for (;;) {
    const rows = page.all({ ...params, after }) as JournalRow[];
    for (const row of rows) {
      const record = rowToRecord(row);
      yield JSON.stringify(redact ? redact(record) : record);
    }
    if (rows.length < pageSize) {
      opts.onProgress?.(lastSeq, lastSeq);
      return;
    }
    after = rows[rows.length - 1]!.seq;
    opts.onProgress?.(after, lastSeq);
  }
}

/**
 * The trace of the journal file `path`, read on a read-only connection of its own (safe while a
 * server runs; the file is never created), closed when the lines end or the reader stops.
 */
export function* exportTraceFile(path: string, opts: ExportOptions = {}): Generator<string> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    db.pragma("busy_timeout = 1000");
    yield* exportTrace(db, opts);
  } finally {
    db.close();
  }
}

/** Server-lane commands that named the session in their params or created / deleted it. */
function relatedServerCommands(db: Database.Database, sessionId: string, lastSeq: number): string[] {
  const rows = db
    .prepare(
      `SELECT DISTINCT command_id FROM journal
       WHERE lane = 'server' AND seq <= @last AND (
         (phase = 'accepted' AND json_type(params) = 'object' AND json_extract(params, '$.sessionId') = @session)
         OR (phase = 'finished' AND json_extract(effect, '$.sessionId') = @session))`,
    )
    .all({ session: sessionId, last: lastSeq }) as Array<{ command_id: string }>;
  return rows.map((r) => r.command_id);
}
