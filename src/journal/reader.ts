/**
 * Reading the journal back as records, in `seq` order (resumable subscriptions, export, audit), and
 * the causal fields that rebuild a command's events. Works on the writer's connection or on a
 * read-only one opened on the file (offline tools).
 */
import type Database from "better-sqlite3";
import { fromJson } from "./codec.js";
import { stmt } from "./queries/statements.js";
import type { CausalFields, JournalRecord, ReadJournalOptions } from "./record.js";
import type { CommandStatus, JournalPhase, SessionEffect } from "../lifecycle/status.js";
import type { Outcome } from "../protocol/types.js";

export interface JournalRow {
  seq: number;
  lane: string;
  lane_seq: number;
  command_id: string;
  session_id: string | null;
  phase: JournalPhase;
  recorded_at: number;
  type: string;
  actor: string;
  fingerprint: string | null;
  explicit_id: number | null;
  idempotency_key: string | null;
  idempotency_scope: string | null;
  depends_on: string | null;
  if_session_version: number | null;
  params: string | null;
  timeout_ms: number | null;
  status: CommandStatus | null;
  outcome: string | null;
  effect: string | null;
  idempotency_expires_at: number | null;
  detail: string | null;
  /** schema v5 (absent before) */
  revision?: number | null;
}

export function rowToRecord(row: JournalRow): JournalRecord {
  const r: JournalRecord = {
    seq: row.seq,
    lane: row.lane,
    laneSeq: row.lane_seq,
    commandId: row.command_id,
    sessionId: row.session_id,
    phase: row.phase,
    recordedAt: row.recorded_at,
    type: row.type,
    actor: row.actor,
    fingerprint: row.fingerprint,
  };
  if (row.explicit_id !== null) r.explicitId = row.explicit_id === 1;
  if (row.idempotency_key !== null) r.idempotencyKey = row.idempotency_key;
  if (row.idempotency_scope !== null) r.idempotencyScope = row.idempotency_scope;
  if (row.depends_on !== null) r.dependsOn = fromJson<string[]>(row.depends_on);
  if (row.if_session_version !== null) r.ifSessionVersion = row.if_session_version;
  if (row.params !== null) r.params = fromJson(row.params);
  if (row.timeout_ms !== null) r.timeoutMs = row.timeout_ms;
  if (row.status !== null) r.status = row.status;
  if (row.outcome !== null) r.outcome = fromJson<Outcome>(row.outcome)!;
  if (row.effect !== null) r.effect = fromJson<SessionEffect>(row.effect)!;
  if (row.idempotency_expires_at !== null) r.idempotencyExpiresAt = row.idempotency_expires_at;
  if (row.detail !== null) r.detail = fromJson<Record<string, unknown>>(row.detail);
  if (row.revision !== undefined && row.revision !== null) r.revision = row.revision;
  return r;
}

/** One page of journal records in seq order. Uses the primary key (and session_id for a session filter). */
export function readJournal(db: Database.Database, opts: ReadJournalOptions): JournalRecord[] {
  const where = ["seq > @after"];
  if (opts.toSeq !== undefined) where.push("seq <= @to");
  if (opts.sessionId !== undefined) where.push("session_id = @session");
  const sql = `SELECT * FROM journal WHERE ${where.join(" AND ")} ORDER BY seq LIMIT @limit`;
  const rows = db.prepare(sql).all({ after: opts.afterSeq ?? 0, to: opts.toSeq, session: opts.sessionId, limit: opts.limit }) as JournalRow[];
  return rows.map(rowToRecord);
}

const CAUSAL_SQL = "SELECT depends_on, if_session_version, idempotency_key FROM commands WHERE command_id = ?";

/** The causal fields of a command (kept on its commands row), or undefined when there is none. */
export function readCausalFields(db: Database.Database, commandId: string): CausalFields | undefined {
  const row = stmt(db, CAUSAL_SQL).get(commandId) as { depends_on: string | null; if_session_version: number | null; idempotency_key: string | null } | undefined;
  if (!row) return undefined;
  return {
    dependsOn: row.depends_on ? (JSON.parse(row.depends_on) as string[]) : [],
    ifSessionVersion: row.if_session_version ?? undefined,
    idempotencyKey: row.idempotency_key,
  };
}
