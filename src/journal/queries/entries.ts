/**
 * pi-server's `get_command_history.entries`: one entry per journal row. causeway pages commands
 * (queries/history.ts); the entries of a page are the journal rows of that page's commands, in
 * the page's order (`newest`: seq descending), at most `limit` of them, each also matching
 * pi-server's own row filters (the row's sessionId, recordedAt within the time window).
 *
 * Two reads: the rows of at most `limit` commands through the journal_command index, sorted by
 * seq; then the causal envelope of the commands those rows belong to, by primary key (once per
 * command, not per row: commands rows are wide). Rows recorded under another id (a replay by
 * idempotencyKey under the retry's own id) belong to that id and are not entries of the original.
 */
import type Database from "better-sqlite3";
import { fromJson } from "../codec.js";
import type { JournalPhase } from "../../lifecycle/status.js";
import type { EntriesRequest, HistoryEntries, HistoryEntry } from "./types.js";
import { stmt } from "./statements.js";

/** pi-server's lifecycle phase names; other journal phases keep their own name (`replayed`, `pending`, …). */
export const PI_SERVER_PHASES: Readonly<Partial<Record<JournalPhase, string>>> = {
  accepted: "command_accepted",
  started: "command_started",
  finished: "command_finished",
};

/** The entries query for the present filters (exported for the plan test). */
export function buildEntriesSql(q: Pick<EntriesRequest, "sessionId" | "fromTimestamp" | "toTimestamp" | "order">): string {
  const where = ["j.command_id IN (SELECT value FROM json_each(@ids))"];
  if (q.sessionId !== undefined) where.push("j.session_id = @sessionId");
  if (q.fromTimestamp !== undefined) where.push("j.recorded_at >= @from");
  if (q.toTimestamp !== undefined) where.push("j.recorded_at <= @to");
  return (
    "SELECT j.seq, j.lane, j.lane_seq, j.phase, j.recorded_at, j.command_id, j.session_id, j.type, j.fingerprint, " +
    "CASE WHEN j.outcome IS NULL THEN NULL ELSE json_extract(j.outcome, '$.success', '$.code', '$.error', '$.sessionVersion', '$.timedOut') END AS o " +
    `FROM journal j INDEXED BY journal_command WHERE ${where.join(" AND ")} ORDER BY j.seq ${q.order === "oldest" ? "ASC" : "DESC"} LIMIT @limit`
  );
}

/** The causal envelope of the entries' commands. */
export const ENVELOPE_SQL =
  "SELECT command_id, explicit_id, fingerprint, depends_on, if_session_version, idempotency_key FROM commands WHERE command_id IN (SELECT value FROM json_each(?))";

interface EntryRow {
  seq: number;
  lane: string;
  lane_seq: number;
  phase: JournalPhase;
  recorded_at: number;
  command_id: string;
  session_id: string | null;
  type: string;
  fingerprint: string | null;
  o: string | null;
}

interface EnvelopeRow {
  command_id: string;
  explicit_id: number;
  fingerprint: string | null;
  depends_on: string | null;
  if_session_version: number | null;
  idempotency_key: string | null;
}

function rowToEntry(r: EntryRow, c: EnvelopeRow | undefined): HistoryEntry {
  const e: HistoryEntry = {
    recordedAt: r.recorded_at,
    phase: PI_SERVER_PHASES[r.phase] ?? r.phase,
    commandId: r.command_id,
    commandType: r.type,
    laneKey: r.lane,
    laneSequence: r.lane_seq,
    fingerprint: r.fingerprint ?? c?.fingerprint ?? "",
    explicitId: c?.explicit_id === 1,
    seq: r.seq,
  };
  if (r.session_id !== null) e.sessionId = r.session_id;
  // a conflict row describes another request under this id: the command's envelope is not its own
  if (c && r.phase !== "conflict") {
    const deps = fromJson<string[]>(c.depends_on);
    if (deps && deps.length > 0) e.dependsOn = deps;
    if (c.if_session_version !== null) e.ifSessionVersion = c.if_session_version;
    if (c.idempotency_key !== null) e.idempotencyKey = c.idempotency_key;
  }
  if (r.o !== null) {
    const [success, code, error, sessionVersion, timedOut] = JSON.parse(r.o) as unknown[];
    if (typeof success === "boolean") e.success = success;
    if (typeof error === "string") e.error = error;
    if (typeof sessionVersion === "number") e.sessionVersion = sessionVersion;
    if (timedOut === true) e.timedOut = true;
    if (typeof code === "string") e.code = code;
  }
  if (r.phase === "replayed") e.replayed = true;
  return e;
}

/** The entries of a page's commands; `more`: further matching rows of those commands were left out. */
export function queryEntries(db: Database.Database, q: EntriesRequest): HistoryEntries {
  if (q.commandIds.length === 0) return { entries: [], more: false };
  const params: Record<string, unknown> = { ids: JSON.stringify(q.commandIds), limit: q.limit + 1 };
  if (q.sessionId !== undefined) params.sessionId = q.sessionId;
  if (q.fromTimestamp !== undefined) params.from = q.fromTimestamp;
  if (q.toTimestamp !== undefined) params.to = q.toTimestamp;
  const all = stmt(db, buildEntriesSql(q)).all(params) as EntryRow[];
  const more = all.length > q.limit;
  const rows = more ? all.slice(0, q.limit) : all;
  const ids = [...new Set(rows.map((r) => r.command_id))];
  const envelopes = new Map<string, EnvelopeRow>();
  if (ids.length > 0) for (const c of stmt(db, ENVELOPE_SQL).all(JSON.stringify(ids)) as EnvelopeRow[]) envelopes.set(c.command_id, c);
  return { entries: rows.map((r) => rowToEntry(r, envelopes.get(r.command_id))), more };
}
