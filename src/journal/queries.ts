/**
 * Read-only history queries over the materialized `commands` table and the journal (issue #4):
 * `get_command_history` pages and `get_command` details. The SQL lives here; src/commands/history.ts
 * only validates input and shapes responses.
 *
 * Every history page is ONE index range read in accepted_seq order (schema v3, migrations.ts):
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
 *
 * Prepared statements are cached per connection (WeakMap keyed by the Database).
 */
import type { CommandsTableRow } from "./codec.js";
import { createHash } from "node:crypto";
import type Database from "better-sqlite3";
import type { Outcome } from "../protocol/types.js";
import { fromJson } from "./codec.js";
import { UNFINISHED_SQL_LIST } from "./migrations.js";
import type { CommandStatus, JournalPhase } from "./types.js";

/** Status values accepted by the history filter (every command status). */
export const HISTORY_STATUSES = [
  "succeeded",
  "failed",
  "timed_out",
  "interrupted",
  "queued",
  "running",
  "pending",
  "approved",
  "rejected",
  "cancelled",
  "expired",
  "superseded",
] as const;
export type HistoryStatus = (typeof HISTORY_STATUSES)[number];

export type HistoryOrder = "newest" | "oldest";

export interface HistoryFilters {
  /** pi-server `sessionIdFilter` */
  sessionId?: string;
  commandId?: string;
  /** inclusive lower bound on accepted time (epoch ms) */
  fromTimestamp?: number;
  /** inclusive upper bound on accepted time (epoch ms) */
  toTimestamp?: number;
  type?: string;
  status?: HistoryStatus;
  actor?: string;
  laneKey?: string;
  /** governance: status pending for this reason (approval | schedule) */
  pendingReason?: string;
  /** governance: commands this actor approved */
  approver?: string;
  /** governance: commands carrying this envelope tag */
  tag?: string;
}

export interface HistoryRequest extends HistoryFilters {
  order?: HistoryOrder;
  /** page size, ≥ 1 (the caller enforces the maximum) */
  limit: number;
  /** opaque cursor from a previous page's nextCursor */
  cursor?: string;
}

export interface HistoryItem {
  commandId: string;
  type: string;
  sessionId: string | null;
  laneKey: string;
  actor: string;
  status: CommandStatus;
  acceptedSeq: number;
  acceptedAt: number;
  finishedAt?: number;
  success?: boolean;
  code?: string;
  error?: string;
  sessionVersion?: number;
  idempotencyKey?: string;
  dependsOn?: string[];
}

export interface HistoryPage {
  items: HistoryItem[];
  nextCursor?: string;
  count: number;
}

/** A cursor that is malformed or was issued for other filters / another order. */
export class HistoryCursorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HistoryCursorError";
  }
}

export interface TraceEntry {
  seq: number;
  laneSequence: number;
  phase: JournalPhase;
  recordedAt: number;
  /** only when the row is recorded under another id: a replay of this command by idempotencyKey */
  commandId?: string;
  detail?: Record<string, unknown>;
}

export interface CommandDetailCommand {
  commandId: string;
  type: string;
  sessionId: string | null;
  laneKey: string;
  actor: string;
  status: CommandStatus;
  explicitId: boolean;
  fingerprint: string | null;
  idempotencyKey?: string;
  acceptedSeq: number;
  acceptedAt: number;
  startedAt?: number;
  finishedSeq?: number;
  finishedAt?: number;
  /** effective timeout (ms) the command ran under */
  timeoutMs?: number;
  /** the envelope as journaled: params (already redacted) + causal fields */
  envelope: Record<string, unknown>;
  outcome?: Outcome;
}

export interface DependencyInfo {
  commandId: string;
  /** `unknown`: no command with this id was ever admitted */
  status: CommandStatus | "unknown";
  outcome?: Outcome;
}

export interface DependentInfo {
  commandId: string;
  status: CommandStatus;
}

export interface Decision {
  kind: string;
  actor: string;
  at: number;
  revision: number;
  step?: number;
  comment?: string;
  seq: number;
}

/** get_command's governance block (schema v5). */
export interface GovernanceDetail {
  revision: number;
  pendingReason: string | null;
  expiresAt: number | null;
  notBefore: number | null;
  tags: string[];
  policyVersion: string | null;
  /** requirements and approvals so far (governed commands), else null */
  state: Record<string, unknown> | null;
  /** every decision, oldest first: approve, approved, reject, cancel, expire, supersede, renew */
  decisions: Decision[];
}

export interface CommandDetail {
  governance: GovernanceDetail;
  command: CommandDetailCommand;
  trace: TraceEntry[];
  traceTruncated?: true;
  dependencies: DependencyInfo[];
  dependents: DependentInfo[];
  dependentsTruncated?: true;
}

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

export const DETAIL_SQL = {
  command:
    "SELECT command_id, lane, session_id, type, actor, fingerprint, explicit_id, idempotency_key, depends_on, " +
    "if_session_version, params, timeout_ms, status, accepted_seq, accepted_at, started_at, finished_seq, finished_at, outcome " +
    "FROM commands WHERE command_id = ?",
  dependency: "SELECT status, outcome FROM commands WHERE command_id = ?",
  /** the command's own rows, and replays of it recorded under another id (by idempotencyKey) */
  trace:
    "SELECT seq, lane_seq, phase, recorded_at, command_id, detail FROM journal WHERE command_id = @id " +
    "UNION ALL " +
    "SELECT seq, lane_seq, phase, recorded_at, command_id, detail FROM journal " +
    "WHERE phase = 'replayed' AND json_extract(detail, '$.replayOf') = @id AND command_id <> @id " +
    "ORDER BY seq LIMIT @limit",
  dependents:
    "SELECT d.command_id, c.status FROM command_dependencies d JOIN commands c ON c.command_id = d.command_id " +
    "WHERE d.depends_on = ? ORDER BY d.accepted_seq LIMIT ?",
} as const;

const GOVERNANCE_SQL = {
  command: "SELECT revision, pending_reason, expires_at, not_before, tags, policy_version, governance FROM commands WHERE command_id = ?",
  decisions: "SELECT seq, kind, actor, at, revision, step, comment FROM decisions WHERE command_id = ? ORDER BY seq LIMIT 1000",
} as const;

function governanceOf(db: Database.Database, commandId: string): GovernanceDetail {
  const g = stmt(db, GOVERNANCE_SQL.command).get(commandId) as
    | { revision: number; pending_reason: string | null; expires_at: number | null; not_before: number | null; tags: string | null; policy_version: string | null; governance: string | null }
    | undefined;
  const rows = stmt(db, GOVERNANCE_SQL.decisions).all(commandId) as Array<{ seq: number; kind: string; actor: string; at: number; revision: number; step: number | null; comment: string | null }>;
  return {
    revision: g?.revision ?? 0,
    pendingReason: g?.pending_reason ?? null,
    expiresAt: g?.expires_at ?? null,
    notBefore: g?.not_before ?? null,
    tags: fromJson<string[]>(g?.tags ?? null) ?? [],
    policyVersion: g?.policy_version ?? null,
    state: fromJson<Record<string, unknown>>(g?.governance ?? null),
    decisions: rows.map((d) => ({ seq: d.seq, kind: d.kind, actor: d.actor, at: d.at, revision: d.revision, ...(d.step !== null ? { step: d.step } : {}), ...(d.comment !== null ? { comment: d.comment } : {}) })),
  };
}

// ---------------------------------------------------------------------------------------------
// statement cache

const cache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

function stmt(db: Database.Database, sql: string): Database.Statement {
  let m = cache.get(db);
  if (!m) {
    m = new Map();
    cache.set(db, m);
  }
  let s = m.get(sql);
  if (!s) {
    s = db.prepare(sql);
    m.set(sql, s);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// cursors

interface CursorBody {
  v: 1;
  seq: number;
  order: HistoryOrder;
  f: string;
}

/** A short, stable hash of the filters a cursor belongs to (not the page size, not the order). */
export function filterHash(f: HistoryFilters): string {
  const canonical = JSON.stringify([
    f.sessionId ?? null,
    f.commandId ?? null,
    f.fromTimestamp ?? null,
    f.toTimestamp ?? null,
    f.type ?? null,
    f.status ?? null,
    f.actor ?? null,
    f.laneKey ?? null,
    ...(f.pendingReason !== undefined || f.approver !== undefined || f.tag !== undefined ? [f.pendingReason ?? null, f.approver ?? null, f.tag ?? null] : []),
  ]);
  return createHash("sha256").update(canonical).digest("base64url").slice(0, 16);
}

export function encodeCursor(seq: number, order: HistoryOrder, filters: HistoryFilters): string {
  const body: CursorBody = { v: 1, seq, order, f: filterHash(filters) };
  return Buffer.from(JSON.stringify(body), "utf8").toString("base64url");
}

export function decodeCursor(cursor: string, order: HistoryOrder, filters: HistoryFilters): number {
  let body: Partial<CursorBody> | null = null;
  if (/^[A-Za-z0-9_-]{1,512}$/.test(cursor)) {
    try {
      body = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as Partial<CursorBody>;
    } catch {
      body = null;
    }
  }
  if (
    !body ||
    typeof body !== "object" ||
    body.v !== 1 ||
    !Number.isSafeInteger(body.seq) ||
    (body.seq as number) < 0 ||
    (body.order !== "newest" && body.order !== "oldest") ||
    typeof body.f !== "string"
  ) {
    throw new HistoryCursorError("cursor is not a valid history cursor");
  }
  if (body.order !== order) {
    throw new HistoryCursorError(`cursor was issued for order "${body.order}", not "${order}"`);
  }
  if (body.f !== filterHash(filters)) {
    throw new HistoryCursorError("cursor was issued for different filters");
  }
  return body.seq as number;
}

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

// ---------------------------------------------------------------------------------------------
// command detail

type DetailRow = Omit<CommandsTableRow, "idempotency_scope">;

interface TraceRow {
  seq: number;
  lane_seq: number;
  phase: JournalPhase;
  recorded_at: number;
  command_id: string;
  detail: string | null;
}

/** The envelope as journaled (the same reconstruction restart recovery uses). */
function envelopeOf(r: DetailRow, dependsOn: string[] | null): Record<string, unknown> {
  const env: Record<string, unknown> = { type: r.type };
  if (r.explicit_id === 1) env.id = r.command_id;
  if (r.session_id !== null) env.sessionId = r.session_id;
  if (dependsOn && dependsOn.length > 0) env.dependsOn = dependsOn;
  if (r.if_session_version !== null) env.ifSessionVersion = r.if_session_version;
  if (r.idempotency_key !== null) env.idempotencyKey = r.idempotency_key;
  const params = fromJson<Record<string, unknown>>(r.params);
  if (params && typeof params === "object") Object.assign(env, params);
  return env;
}

/**
 * Everything known about one command: its row, envelope and outcome, its journal trace (at most
 * `maxRows` rows, in seq order), its dependencies and (at most `maxRows`) dependents in admission
 * order. undefined when no command with that id was admitted.
 */
export function getCommandDetail(db: Database.Database, commandId: string, opts: { maxRows: number }): CommandDetail | undefined {
  const r = stmt(db, DETAIL_SQL.command).get(commandId) as DetailRow | undefined;
  if (!r) return undefined;
  const dependsOn = fromJson<string[]>(r.depends_on);
  const command: CommandDetailCommand = {
    commandId: r.command_id,
    type: r.type,
    sessionId: r.session_id,
    laneKey: r.lane,
    actor: r.actor,
    status: r.status,
    explicitId: r.explicit_id === 1,
    fingerprint: r.fingerprint,
    acceptedSeq: r.accepted_seq,
    acceptedAt: r.accepted_at,
    envelope: envelopeOf(r, dependsOn),
  };
  if (r.idempotency_key !== null) command.idempotencyKey = r.idempotency_key;
  if (r.started_at !== null) command.startedAt = r.started_at;
  if (r.finished_seq !== null) command.finishedSeq = r.finished_seq;
  if (r.finished_at !== null) command.finishedAt = r.finished_at;
  if (r.timeout_ms !== null) command.timeoutMs = r.timeout_ms;
  if (r.outcome !== null) command.outcome = JSON.parse(r.outcome) as Outcome;

  const traceRows = stmt(db, DETAIL_SQL.trace).all({ id: commandId, limit: opts.maxRows + 1 }) as TraceRow[];
  const trace = traceRows.slice(0, opts.maxRows).map((t) => {
    const e: TraceEntry = { seq: t.seq, laneSequence: t.lane_seq, phase: t.phase, recordedAt: t.recorded_at };
    if (t.command_id !== commandId) e.commandId = t.command_id;
    if (t.detail !== null) e.detail = fromJson<Record<string, unknown>>(t.detail)!;
    return e;
  });

  const dependencies: DependencyInfo[] = (dependsOn ?? []).map((id) => {
    const d = stmt(db, DETAIL_SQL.dependency).get(id) as { status: CommandStatus; outcome: string | null } | undefined;
    if (!d) return { commandId: id, status: "unknown" };
    const info: DependencyInfo = { commandId: id, status: d.status };
    if (d.outcome !== null) info.outcome = JSON.parse(d.outcome) as Outcome;
    return info;
  });

  const depRows = stmt(db, DETAIL_SQL.dependents).all(commandId, opts.maxRows + 1) as Array<{ command_id: string; status: CommandStatus }>;
  const dependents = depRows.slice(0, opts.maxRows).map((d) => ({ commandId: d.command_id, status: d.status }));

  const detail: CommandDetail = { command, trace, dependencies, dependents, governance: governanceOf(db, commandId) };
  if (traceRows.length > opts.maxRows) detail.traceTruncated = true;
  if (depRows.length > opts.maxRows) detail.dependentsTruncated = true;
  return detail;
}
