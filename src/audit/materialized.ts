/**
 * materialized_tables: the `commands`, `sessions`, `idempotency` and `lanes` tables must equal
 * what the journal implies. Command rows are compared when their finished row is read (a terminal
 * row never changes again) and, for unfinished commands, at the end; sessions, lanes and keys at
 * the end of the scan, and only when the scan reached the end of the journal.
 */
import type { AuditReads } from "../journal/audit-reads.js";
import { toJson } from "../journal/codec.js";
import type { JournalRecord } from "../journal/types.js";
import type { CommandsTableRow } from "../journal/codec.js";
import type { Findings } from "./findings.js";
import type { KeyEntry } from "./keys.js";
import type { AuditSessions } from "./audit-sessions.js";

type CommandsRow = CommandsTableRow;

/** What the journal implies about an admitted command at the point it is compared. */
export interface CommandFacts {
  accepted: JournalRecord;
  status: "queued" | "running";
  /** schema v5: the status the transition rows give it (pending, approved, …) */
  store?: string;
  startedAt: number | null;
}

export class Materialized {
  constructor(
    private readonly journal: AuditReads,
    private readonly findings: Findings,
  ) {}

  commandRow(commandId: string): CommandsRow | undefined {
    return this.journal.commandRow(commandId);
  }

  /**
   * Compare a command's row with its accepted row and (if finished) its finished row: first by the
   * store's own check (cheap), then column by column for the evidence when something differs.
   */
  command(c: CommandFacts, finished: JournalRecord | undefined, known?: CommandsRow): void {
    const a = c.accepted;
    if (!known) {
      const q = this.journal.commandCheck(a.commandId);
      if (
        q &&
        q.envelope_ok === 1 &&
        q.accepted_seq === a.seq &&
        q.accepted_at === a.recordedAt &&
        q.started_at === c.startedAt &&
        q.status === (finished ? finished.status : (c.store ?? c.status)) &&
        q.finished_seq === (finished ? finished.seq : null) &&
        q.finished_at === (finished ? finished.recordedAt : null) &&
        q.outcome_ok === 1
      ) {
        this.findings.check("materialized_tables");
        return;
      }
    }
    const row = known ?? this.commandRow(a.commandId);
    const at = finished ?? a;
    if (!row) {
      this.findings.expect(false, "materialized_tables", () => ({
        seq: at.seq,
        commandId: a.commandId,
        message: `commands has no row for admitted command ${a.commandId}`,
        evidence: { table: "commands", acceptedSeq: a.seq },
      }));
      return;
    }
    const expected: Record<keyof CommandsRow, unknown> = {
      command_id: a.commandId,
      lane: a.lane,
      session_id: a.sessionId ?? null,
      type: a.type,
      actor: a.actor,
      fingerprint: a.fingerprint ?? null,
      explicit_id: a.explicitId ? 1 : 0,
      idempotency_key: a.idempotencyKey ?? null,
      idempotency_scope: a.idempotencyScope ?? null,
      depends_on: toJson(a.dependsOn),
      if_session_version: a.ifSessionVersion ?? null,
      params: toJson(a.params),
      timeout_ms: a.timeoutMs ?? null,
      status: finished ? (finished.status ?? null) : (c.store ?? c.status),
      accepted_seq: a.seq,
      accepted_at: a.recordedAt,
      started_at: c.startedAt,
      finished_seq: finished ? finished.seq : null,
      finished_at: finished ? finished.recordedAt : null,
      outcome: finished ? toJson(finished.outcome) : null,
    };
    const diff: Record<string, { journal: unknown; table: unknown }> = {};
    for (const [k, v] of Object.entries(expected)) {
      const t = row[k as keyof CommandsRow];
      if (t !== v) diff[k] = { journal: v, table: t };
    }
    this.findings.expect(Object.keys(diff).length === 0, "materialized_tables", () => ({
      seq: at.seq,
      commandId: a.commandId,
      message: `commands row of ${a.commandId} differs from the journal in ${Object.keys(diff).join(", ")}`,
      evidence: { table: "commands", differences: diff },
    }));
  }

  /** The number of commands rows admitted inside the audited journal. */
  commandCount(afterSeq: number, admitted: number, isKnown: (commandId: string) => boolean): void {
    const n = this.journal.countCommandsAcceptedAfter(afterSeq);
    if (n === admitted) return this.findings.check("materialized_tables");
    const extra: string[] = [];
    for (const id of this.journal.commandIdsAcceptedAfter(afterSeq)) {
      if (!isKnown(id)) extra.push(id);
      if (extra.length >= 20) break;
    }
    this.findings.expect(false, "materialized_tables", () => ({
      message: `commands holds ${n} rows admitted after seq ${afterSeq}, the journal admits ${admitted}`,
      evidence: { table: "commands", tableRows: n, journalCommands: admitted, commandsNotInJournal: extra },
    }));
  }

  sessions(table: AuditSessions, compareCount: "all" | "live" | "none"): void {
    let total = 0;
    let live = 0;
    for (const [id, rec] of table.entries()) {
      if (rec.live === null) continue;
      total++;
      if (rec.live) live++;
      const row = this.journal.sessionRow(id);
      if (!row) {
        this.findings.expect(!rec.live && !rec.touched, "materialized_tables", () => ({
          sessionId: id,
          message: `sessions has no row for session ${id}`,
          evidence: { table: "sessions", journal: describe(rec) },
        }));
        continue;
      }
      const diff: Record<string, { journal: unknown; table: unknown }> = {};
      if ((row.deleted_at === null) !== rec.live) diff.deleted = { journal: !rec.live, table: row.deleted_at !== null };
      if (rec.live && rec.version !== null && row.version !== rec.version) diff.version = { journal: rec.version, table: row.version };
      if (rec.live && rec.stateKnown && row.state !== JSON.stringify(rec.state ?? null)) diff.state = { journal: rec.state, table: safeParse(row.state) };
      if (rec.createdAt !== null && row.created_at !== rec.createdAt) diff.created_at = { journal: rec.createdAt, table: row.created_at };
      if (rec.updatedAt !== null && row.updated_at !== rec.updatedAt) diff.updated_at = { journal: rec.updatedAt, table: row.updated_at };
      if (!rec.live && rec.deletedAt !== null && row.deleted_at !== rec.deletedAt) diff.deleted_at = { journal: rec.deletedAt, table: row.deleted_at };
      this.findings.expect(Object.keys(diff).length === 0, "materialized_tables", () => ({
        sessionId: id,
        message: `sessions row of ${id} differs from the journal in ${Object.keys(diff).join(", ")}`,
        evidence: { table: "sessions", differences: diff },
      }));
    }
    if (compareCount === "none") return;
    const want = compareCount === "all" ? total : live;
    const n = this.journal.countSessions(compareCount);
    if (n === want) return this.findings.check("materialized_tables");
    const extra: string[] = [];
    for (const sessionId of this.journal.sessionIds(compareCount)) {
      const rec = table.peek(sessionId);
      if (!rec || (compareCount === "live" && !rec.live)) extra.push(sessionId);
      if (extra.length >= 20) break;
    }
    this.findings.expect(false, "materialized_tables", () => ({
      message: `sessions holds ${n} ${compareCount === "live" ? "live " : ""}rows, the journal implies ${want}`,
      evidence: { table: "sessions", tableRows: n, journalSessions: want, sessionsNotInJournal: extra },
    }));
  }

  lanes(heads: Map<string, { laneSeq: number; at: number | null }>, compareCount: boolean): void {
    for (const [lane, h] of heads) {
      const row = this.journal.laneRow(lane);
      const ok = row !== undefined && row.last_lane_seq === h.laneSeq && (h.at === null || row.updated_at === h.at);
      this.findings.expect(ok, "materialized_tables", () => ({
        message: row ? `lanes row of ${lane} is at lane_seq ${row.last_lane_seq} (updated_at ${row.updated_at}); the journal's last row is lane_seq ${h.laneSeq} (recorded_at ${String(h.at)})` : `lanes has no row for lane ${lane}`,
        evidence: { table: "lanes", lane, journal: h, table_row: row ?? null },
      }));
    }
    if (!compareCount) return;
    const n = this.journal.countLanes();
    this.findings.expect(n === heads.size, "materialized_tables", () => {
      const extra = this.journal.laneNames().filter((l) => !heads.has(l)).slice(0, 20);
      return { message: `lanes holds ${n} rows, the journal has ${heads.size} lanes`, evidence: { table: "lanes", tableRows: n, journalLanes: heads.size, lanesNotInJournal: extra } };
    });
  }

  keys(entries: Map<string, KeyEntry>, compareCount: boolean): void {
    for (const e of entries.values()) {
      const row = this.journal.idempotencyRow(e.scope, e.key);
      const ok = row !== undefined && row.command_id === e.commandId && row.fingerprint === e.fingerprint && row.expires_at === e.expiresAt;
      this.findings.expect(ok, "materialized_tables", () => ({
        commandId: e.commandId,
        message: row ? `idempotency entry (${e.scope}, ${e.key}) differs from the journal` : `idempotency has no entry for (${e.scope}, ${e.key})`,
        evidence: { table: "idempotency", journal: { commandId: e.commandId, fingerprint: e.fingerprint, expiresAt: e.expiresAt }, table_row: row ?? null },
      }));
    }
    if (!compareCount) return;
    const n = this.journal.countIdempotencyKeys();
    this.findings.expect(n === entries.size, "materialized_tables", () => ({
      message: `idempotency holds ${n} entries, the journal claims ${entries.size} keys`,
      evidence: { table: "idempotency", tableRows: n, journalKeys: entries.size },
    }));
  }
}

function describe(rec: { live: boolean | null; version: number | null }): Record<string, unknown> {
  return { live: rec.live, version: rec.version };
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
