/**
 * Row <-> record conversion for the SQLite journal. JSON columns are TEXT written with
 * JSON.stringify (SQL NULL for absent values); booleans are stored as 0/1.
 */
import type { Outcome } from "../protocol/types.js";
import type { StoredCommand, UnfinishedCommand } from "./record.js";
import type { CommandStatus, GovernanceState, PendingReason, UnfinishedStatus } from "../lifecycle/status.js";

/** JSON text for a column, or SQL NULL for undefined / null. */
export function toJson(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return JSON.stringify(value);
}

/** JSON text, keeping null as the text "null" (for NOT NULL columns such as sessions.state). */
export function toJsonNotNull(value: unknown): string {
  return value === undefined ? "null" : JSON.stringify(value);
}

export function fromJson<T = unknown>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

export function toBit(value: boolean | undefined | null): number | null {
  return value === undefined || value === null ? null : value ? 1 : 0;
}

export const TERMINAL_SQL_LIST = "'succeeded','failed','timed_out','interrupted','rejected','cancelled','expired','superseded'";

/** Columns every command read shares. */
interface CommandIdentityRow {
  command_id: string;
  lane: string;
  session_id: string | null;
  type: string;
  actor: string;
  fingerprint: string | null;
  explicit_id: number;
  idempotency_key: string | null;
  accepted_seq: number;
  accepted_at: number;
}

export interface CommandRow extends CommandIdentityRow {
  status: CommandStatus;
  finished_at: number | null;
  outcome: string | null;
  revision: number;
}

function identity(row: CommandIdentityRow) {
  return {
    commandId: row.command_id,
    lane: row.lane,
    sessionId: row.session_id,
    type: row.type,
    actor: row.actor,
    fingerprint: row.fingerprint,
    explicitId: row.explicit_id === 1,
    idempotencyKey: row.idempotency_key,
    acceptedSeq: row.accepted_seq,
    acceptedAt: row.accepted_at,
  };
}

/** Every column of the `commands` table (migration 1), as better-sqlite3 returns it. */
export interface CommandsTableRow extends CommandIdentityRow {
  idempotency_scope: string | null;
  depends_on: string | null;
  if_session_version: number | null;
  params: string | null;
  timeout_ms: number | null;
  status: CommandStatus;
  started_at: number | null;
  finished_seq: number | null;
  finished_at: number | null;
  outcome: string | null;
}

export const COMMAND_COLUMNS =
  "command_id, lane, session_id, type, actor, fingerprint, explicit_id, idempotency_key, status, accepted_seq, accepted_at, finished_at, outcome";

export function rowToStoredCommand(row: CommandRow): StoredCommand {
  const cmd: StoredCommand = { ...identity(row), status: row.status };
  if (row.outcome !== null) cmd.outcome = JSON.parse(row.outcome) as Outcome;
  if (row.finished_at !== null) cmd.finishedAt = row.finished_at;
  cmd.revision = row.revision;
  return cmd;
}

export interface UnfinishedRow extends CommandIdentityRow {
  idempotency_scope: string | null;
  depends_on: string | null;
  if_session_version: number | null;
  params: string | null;
  timeout_ms: number | null;
  status: UnfinishedStatus;
  /** `started` rows of a running command (0 otherwise) */
  starts: number;
  revision: number;
  pending_reason: PendingReason | null;
  governance: string | null;
  tags: string | null;
  not_before: number | null;
  queued_at: number | null;
}

// a running command's `started` rows: how often it was run (index journal_command; only the few
// commands running at a crash are counted)
const UNFINISHED_BASE =
  "command_id, lane, session_id, type, actor, fingerprint, explicit_id, idempotency_key, idempotency_scope, depends_on, if_session_version, params, timeout_ms, accepted_at, accepted_seq, status, " +
  "CASE WHEN status = 'running' THEN (SELECT count(*) FROM journal j WHERE j.command_id = commands.command_id AND j.phase = 'started') ELSE 0 END AS starts";

/** The columns recovery reads. */
export const UNFINISHED_COLUMNS = `${UNFINISHED_BASE}, revision, pending_reason, governance, tags, not_before, queued_at`;

export function rowToUnfinished(row: UnfinishedRow): UnfinishedCommand {
  return {
    ...identity(row),
    idempotencyScope: row.idempotency_scope,
    dependsOn: fromJson<string[]>(row.depends_on),
    ifSessionVersion: row.if_session_version,
    params: fromJson(row.params),
    timeoutMs: row.timeout_ms,
    status: row.status,
    starts: row.starts,
    revision: row.revision,
    pendingReason: row.pending_reason,
    governance: fromJson<GovernanceState>(row.governance),
    tags: fromJson<string[]>(row.tags) ?? [],
    notBefore: row.not_before,
    queuedAt: row.queued_at,
  };
}
