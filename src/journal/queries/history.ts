/**
 * `get_command_history` pages: one page of commands over the materialized `commands` table.
 * src/operator/history.ts only validates input and shapes responses.
 *
 * Every history page is ONE index range read in accepted_seq order (schema v3, migrations/v3.ts):
 *  - the filter with the best expected selectivity picks the index (commandId → primary key,
 *    sessionIdFilter → commands_session, laneKey → commands_lane, type → commands_type,
 *    actor → commands_actor, status → commands_status (finished) / commands_unfinished (queued,
 *    running), none → commands_accepted); every index has accepted_seq as its last column, so the
 *    cursor and the time window are a range on it and the remaining filters are checked on the
 *    rows read. `INDEXED BY` pins the choice: a query that cannot use its index fails instead of
 *    silently scanning.
 *  - a time window becomes an accepted_seq range with two seeks on commands_accepted_at. That is
 *    exact while accepted_at never decreases with accepted_seq; clock_regressions (written by the
 *    store with each accepted row) lists every command whose accepted_at went backwards, and a
 *    bound such a command could invalidate is dropped (the accepted_at predicate stays, so results
 *    are always exact; only the read range gets wider).
 */
import type Database from "better-sqlite3";
import { fromJson } from "../codec.js";
import { UNFINISHED_SQL_LIST } from "../migrations/index.js";
import type { CommandStatus } from "../../lifecycle/status.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import { stmt } from "./statements.js";
import type { HistoryFilters, HistoryItem, HistoryOrder, HistoryPage, HistoryRequest, HistoryStatus } from "./types.js";

// ---------------------------------------------------------------------------------------------
// SQL building

const ITEM_COLUMNS =
  "command_id, type, session_id, lane, actor, status, accepted_seq, accepted_at, finished_at, idempotency_key, depends_on, " +
  "CASE WHEN outcome IS NULL THEN NULL ELSE json_extract(outcome, '$.success', '$.code', '$.error', '$.sessionVersion') END AS o";

/** Equality filters in index-choice order, with their column and index. */
const EQUALITY: ReadonlyArray<{ key: keyof HistoryFilters; column: string; index: string | null }> = [
  { key: "commandId", column: "command_id", index: null },
  { key: "sessionId", column: "session_id", index: "commands_session" },
  { key: "laneKey", column: "lane", index: "commands_lane" },
  { key: "type", column: "type", index: "commands_type" },
  { key: "actor", column: "actor", index: "commands_actor" },
  { key: "status", column: "status", index: "commands_status" },
];

/**
 * The two status indexes are partial: a query may use one only if its WHERE clause repeats the
 * index's condition, so the status filter carries it.
 */
const UNFINISHED_CONDITION = `status IN (${UNFINISHED_SQL_LIST})`;
const FINISHED_CONDITION = `status NOT IN (${UNFINISHED_SQL_LIST})`;
const isUnfinished = (s: HistoryStatus | undefined): boolean => s === "queued" || s === "running" || s === "pending" || s === "approved";

/**
 * Governance filters (schema v5) narrow the rows of the lead index: a tag or approver is an
 * indexed EXISTS probe per candidate row (command_tags, decisions), pending reason a column test.
 */
const GOVERNANCE_CONDITIONS: ReadonlyArray<{ key: "pendingReason" | "approver" | "tag"; sql: string }> = [
  { key: "pendingReason", sql: "pending_reason = @pendingReason" },
  { key: "approver", sql: "EXISTS (SELECT 1 FROM decisions d WHERE d.actor = @approver AND d.kind = 'approve' AND d.command_id = commands.command_id)" },
  { key: "tag", sql: "EXISTS (SELECT 1 FROM command_tags t WHERE t.tag = @tag AND t.accepted_seq = commands.accepted_seq)" },
];

export interface HistorySql {
  sql: string;
  /** the index the query is pinned to; null: the primary key (commandId) */
  index: string | null;
}

/**
 * The page query for a filter combination. Named parameters: one per present equality filter (its
 * key), `after` / `before` (exclusive accepted_seq bounds), `from` / `to` when the time filter is
 * present, and `limit`.
 */
export function buildHistorySql(filters: HistoryFilters, order: HistoryOrder): HistorySql {
  const present = EQUALITY.filter((f) => filters[f.key] !== undefined);
  const lead = present[0];
  let index = lead ? lead.index : "commands_accepted";
  const where = present.map((f) => `${f.column} = @${f.key}`);
  if (filters.status !== undefined) {
    where.push(isUnfinished(filters.status) ? UNFINISHED_CONDITION : FINISHED_CONDITION);
    if (index === "commands_status" && isUnfinished(filters.status)) index = "commands_unfinished";
  }
  for (const g of GOVERNANCE_CONDITIONS) if (filters[g.key] !== undefined) where.push(g.sql);
  where.push("accepted_seq > @after", "accepted_seq < @before");
  if (filters.fromTimestamp !== undefined) where.push("accepted_at >= @from");
  if (filters.toTimestamp !== undefined) where.push("accepted_at <= @to");
  const from = index === null ? "commands" : `commands INDEXED BY ${index}`;
  const sql =
    `SELECT ${ITEM_COLUMNS} FROM ${from} WHERE ${where.join(" AND ")} ` +
    `ORDER BY accepted_seq ${order === "oldest" ? "ASC" : "DESC"} LIMIT @limit`;
  return { sql, index };
}

/** The time-bound helper queries (exported for the plan test). */
export const TIME_BOUND_SQL = {
  /** first command in (accepted_at, accepted_seq) order with accepted_at >= from */
  first:
    "SELECT accepted_seq FROM commands INDEXED BY commands_accepted_at WHERE accepted_at >= ? ORDER BY accepted_at, accepted_seq LIMIT 1",
  /** last command in (accepted_at, accepted_seq) order with accepted_at <= to */
  last:
    "SELECT accepted_seq FROM commands INDEXED BY commands_accepted_at WHERE accepted_at <= ? ORDER BY accepted_at DESC, accepted_seq DESC LIMIT 1",
  /** the first candidate was accepted after a clock step-back from at or above `from` */
  lowerUnsafe: "SELECT 1 FROM clock_regressions WHERE accepted_seq = ? AND previous_max >= ?",
  /** a command after the last candidate was accepted at or before `to` after a clock step-back */
  upperUnsafe: "SELECT 1 FROM clock_regressions WHERE accepted_seq > ? AND accepted_at <= ? LIMIT 1",
} as const;

// ---------------------------------------------------------------------------------------------
// history

/** Inclusive accepted_seq range covering every command accepted in [from, to]; null: none is. */
export function timeWindowSeqRange(
  db: Database.Database,
  from: number | undefined,
  to: number | undefined,
): { lo: number; hi: number } | null {
  let lo = 0;
  let hi = Number.MAX_SAFE_INTEGER;
  if (from !== undefined && to !== undefined && from > to) return null;
  if (from !== undefined) {
    const c = stmt(db, TIME_BOUND_SQL.first).get(from) as { accepted_seq: number } | undefined;
    if (!c) return null;
    if (stmt(db, TIME_BOUND_SQL.lowerUnsafe).get(c.accepted_seq, from) === undefined) lo = c.accepted_seq;
  }
  if (to !== undefined) {
    const d = stmt(db, TIME_BOUND_SQL.last).get(to) as { accepted_seq: number } | undefined;
    if (!d) return null;
    if (stmt(db, TIME_BOUND_SQL.upperUnsafe).get(d.accepted_seq, to) === undefined) hi = d.accepted_seq;
  }
  return { lo, hi };
}

interface ItemRow {
  command_id: string;
  type: string;
  session_id: string | null;
  lane: string;
  actor: string;
  status: CommandStatus;
  accepted_seq: number;
  accepted_at: number;
  finished_at: number | null;
  idempotency_key: string | null;
  depends_on: string | null;
  o: string | null;
}

function rowToItem(r: ItemRow): HistoryItem {
  const item: HistoryItem = {
    commandId: r.command_id,
    type: r.type,
    sessionId: r.session_id,
    laneKey: r.lane,
    actor: r.actor,
    status: r.status,
    acceptedSeq: r.accepted_seq,
    acceptedAt: r.accepted_at,
  };
  if (r.finished_at !== null) item.finishedAt = r.finished_at;
  if (r.o !== null) {
    const [success, code, error, sessionVersion] = JSON.parse(r.o) as [unknown, unknown, unknown, unknown];
    if (typeof success === "boolean") item.success = success;
    if (typeof code === "string") item.code = code;
    if (typeof error === "string") item.error = error;
    if (typeof sessionVersion === "number") item.sessionVersion = sessionVersion;
  }
  if (r.idempotency_key !== null) item.idempotencyKey = r.idempotency_key;
  if (r.depends_on !== null) {
    const deps = fromJson<string[]>(r.depends_on);
    if (deps && deps.length > 0) item.dependsOn = deps;
  }
  return item;
}

function filtersOf(q: HistoryRequest): HistoryFilters {
  const f: HistoryFilters = {};
  for (const k of ["sessionId", "commandId", "fromTimestamp", "toTimestamp", "type", "status", "actor", "laneKey", "pendingReason", "approver", "tag"] as const) {
    if (q[k] !== undefined) (f as Record<string, unknown>)[k] = q[k];
  }
  return f;
}

/**
 * One page of command history, in accepted_seq order. Throws HistoryCursorError for a bad cursor.
 *
 * Stability: the cursor is the accepted_seq of the page's last item, so pages never repeat or skip
 * a command whose filter-relevant fields do not change; commands accepted later only ever appear
 * after the cursor in "oldest" order and never in "newest" order.
 */
export function queryHistory(db: Database.Database, q: HistoryRequest): HistoryPage {
  const order: HistoryOrder = q.order ?? "newest";
  const filters = filtersOf(q);
  const cursorSeq = q.cursor !== undefined ? decodeCursor(q.cursor, order, filters) : undefined;
  const range = timeWindowSeqRange(db, filters.fromTimestamp, filters.toTimestamp);
  if (!range) return { items: [], count: 0 };

  let after = range.lo - 1;
  let before = range.hi === Number.MAX_SAFE_INTEGER ? range.hi : range.hi + 1;
  if (cursorSeq !== undefined) {
    if (order === "newest") before = Math.min(before, cursorSeq);
    else after = Math.max(after, cursorSeq);
  }
  if (after + 1 >= before) return { items: [], count: 0 };

  const { sql } = buildHistorySql(filters, order);
  const params: Record<string, unknown> = { after, before, limit: q.limit + 1 };
  for (const f of EQUALITY) if (filters[f.key] !== undefined) params[f.key] = filters[f.key];
  for (const g of GOVERNANCE_CONDITIONS) if (filters[g.key] !== undefined) params[g.key] = filters[g.key];
  if (filters.fromTimestamp !== undefined) params.from = filters.fromTimestamp;
  if (filters.toTimestamp !== undefined) params.to = filters.toTimestamp;
  const rows = stmt(db, sql).all(params) as ItemRow[];
  const more = rows.length > q.limit;
  const items = (more ? rows.slice(0, q.limit) : rows).map(rowToItem);
  const page: HistoryPage = { items, count: items.length };
  if (more) page.nextCursor = encodeCursor(items[items.length - 1]!.acceptedSeq, order, filters);
  return page;
}
