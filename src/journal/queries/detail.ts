/**
 * `get_command` details: one command's row, envelope and outcome, its journal trace,
 * dependencies, dependents and governance decisions.
 */
import type Database from "better-sqlite3";
import type { Outcome } from "../../protocol/types.js";
import { fromJson, type CommandsTableRow } from "../codec.js";
import type { CommandStatus, JournalPhase } from "../../lifecycle/status.js";
import { stmt } from "./statements.js";
import type { CommandDetail, CommandDetailCommand, DependencyInfo, GovernanceDetail, TraceEntry } from "./types.js";

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
