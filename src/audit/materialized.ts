/**
 * materialized_tables: the `commands`, `sessions`, `idempotency` and `lanes` tables must equal
 * what the journal implies. Command rows are compared when their finished row is read (a terminal
 * row never changes again) and, for unfinished commands, at the end; sessions, lanes and keys at
 * the end of the scan, and only when the scan reached the end of the journal.
 */
import type Database from "better-sqlite3";
import { toJson } from "../journal/codec.js";
import type { JournalRecord } from "../journal/types.js";
import type { CommandsTableRow } from "../journal/codec.js";
import type { Findings } from "./findings.js";
import type { KeyEntry } from "./keys.js";
import type { AuditSessions } from "./audit-sessions.js";

type CommandsRow = CommandsTableRow;

interface SessionsRow {
  session_id: string;
  state: string;
  version: number;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

/** What the journal implies about an admitted command at the point it is compared. */
export interface CommandFacts {
  accepted: JournalRecord;
  status: "queued" | "running";
  /** schema v5: the status the transition rows give it (pending, approved, …) */
  store?: string;
  startedAt: number | null;
}

export class Materialized {
  private readonly st: {
    command: Database.Statement;
    commandCheck: Database.Statement;
    session: Database.Statement;
    lane: Database.Statement;
    key: Database.Statement;
  };

  constructor(
    private readonly db: Database.Database,
    private readonly findings: Findings,
  ) {
    this.st = {
      command: db.prepare("SELECT * FROM commands WHERE command_id = ?"),
      // the fast path: SQLite compares the copied columns with the journal rows they came from,
      // so no JSON text crosses into JS unless something differs
      commandCheck: db.prepare(
        `SELECT c.accepted_seq AS accepted_seq, c.finished_seq AS finished_seq, c.started_at AS started_at, c.status AS status,
           c.accepted_at AS accepted_at, c.finished_at AS finished_at,
           (a.command_id IS c.command_id AND a.lane IS c.lane AND a.session_id IS c.session_id AND a.type IS c.type AND a.actor IS c.actor
             AND a.fingerprint IS c.fingerprint AND coalesce(a.explicit_id, 0) IS c.explicit_id AND a.idempotency_key IS c.idempotency_key
             AND a.idempotency_scope IS c.idempotency_scope AND a.depends_on IS c.depends_on AND a.if_session_version IS c.if_session_version
             AND a.params IS c.params AND a.timeout_ms IS c.timeout_ms) AS envelope_ok,
           (f.outcome IS c.outcome) AS outcome_ok
         FROM commands c LEFT JOIN journal a ON a.seq = c.accepted_seq LEFT JOIN journal f ON f.seq = c.finished_seq
         WHERE c.command_id = ?`,
      ),
      session: db.prepare("SELECT session_id, state, version, created_at, updated_at, deleted_at FROM sessions WHERE session_id = ?"),
      lane: db.prepare("SELECT last_lane_seq, updated_at FROM lanes WHERE lane = ?"),
      key: db.prepare("SELECT command_id, fingerprint, expires_at FROM idempotency WHERE scope = ? AND key = ?"),
    };
  }

  commandRow(commandId: string): CommandsRow | undefined {
    return this.st.command.get(commandId) as CommandsRow | undefined;
  }

  /**
   * Compare a command's row with its accepted row and (if finished) its finished row: first in
   * SQL (cheap), then column by column for the evidence when something differs.
   */
  command(c: CommandFacts, finished: JournalRecord | undefined, known?: CommandsRow): void {
    const a = c.accepted;
    if (!known) {
      const q = this.st.commandCheck.get(a.commandId) as
        | { accepted_seq: number; finished_seq: number | null; started_at: number | null; status: string; accepted_at: number; finished_at: number | null; envelope_ok: number; outcome_ok: number }
        | undefined;
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
    const n = (this.db.prepare("SELECT count(*) AS n FROM commands WHERE accepted_seq > ?").get(afterSeq) as { n: number }).n;
    if (n === admitted) return this.findings.check("materialized_tables");
    const extra: string[] = [];
    for (const r of this.db.prepare("SELECT command_id FROM commands WHERE accepted_seq > ?").iterate(afterSeq) as Iterable<{ command_id: string }>) {
      if (!isKnown(r.command_id)) extra.push(r.command_id);
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
      const row = this.st.session.get(id) as SessionsRow | undefined;
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
    const sql = compareCount === "all" ? "SELECT session_id FROM sessions" : "SELECT session_id FROM sessions WHERE deleted_at IS NULL";
    const want = compareCount === "all" ? total : live;
    const n = (this.db.prepare(`SELECT count(*) AS n FROM (${sql})`).get() as { n: number }).n;
    if (n === want) return this.findings.check("materialized_tables");
    const extra: string[] = [];
    for (const r of this.db.prepare(sql).iterate() as Iterable<{ session_id: string }>) {
      const rec = table.peek(r.session_id);
      if (!rec || (compareCount === "live" && !rec.live)) extra.push(r.session_id);
      if (extra.length >= 20) break;
    }
    this.findings.expect(false, "materialized_tables", () => ({
      message: `sessions holds ${n} ${compareCount === "live" ? "live " : ""}rows, the journal implies ${want}`,
      evidence: { table: "sessions", tableRows: n, journalSessions: want, sessionsNotInJournal: extra },
    }));
  }

  lanes(heads: Map<string, { laneSeq: number; at: number | null }>, compareCount: boolean): void {
    for (const [lane, h] of heads) {
      const row = this.st.lane.get(lane) as { last_lane_seq: number; updated_at: number } | undefined;
      const ok = row !== undefined && row.last_lane_seq === h.laneSeq && (h.at === null || row.updated_at === h.at);
      this.findings.expect(ok, "materialized_tables", () => ({
        message: row ? `lanes row of ${lane} is at lane_seq ${row.last_lane_seq} (updated_at ${row.updated_at}); the journal's last row is lane_seq ${h.laneSeq} (recorded_at ${String(h.at)})` : `lanes has no row for lane ${lane}`,
        evidence: { table: "lanes", lane, journal: h, table_row: row ?? null },
      }));
    }
    if (!compareCount) return;
    const n = (this.db.prepare("SELECT count(*) AS n FROM lanes").get() as { n: number }).n;
    this.findings.expect(n === heads.size, "materialized_tables", () => {
      const extra = (this.db.prepare("SELECT lane FROM lanes").all() as Array<{ lane: string }>).map((r) => r.lane).filter((l) => !heads.has(l)).slice(0, 20);
      return { message: `lanes holds ${n} rows, the journal has ${heads.size} lanes`, evidence: { table: "lanes", tableRows: n, journalLanes: heads.size, lanesNotInJournal: extra } };
    });
  }

  keys(entries: Map<string, KeyEntry>, compareCount: boolean): void {
    for (const e of entries.values()) {
      const row = this.st.key.get(e.scope, e.key) as { command_id: string; fingerprint: string | null; expires_at: number | null } | undefined;
      const ok = row !== undefined && row.command_id === e.commandId && row.fingerprint === e.fingerprint && row.expires_at === e.expiresAt;
      this.findings.expect(ok, "materialized_tables", () => ({
        commandId: e.commandId,
        message: row ? `idempotency entry (${e.scope}, ${e.key}) differs from the journal` : `idempotency has no entry for (${e.scope}, ${e.key})`,
        evidence: { table: "idempotency", journal: { commandId: e.commandId, fingerprint: e.fingerprint, expiresAt: e.expiresAt }, table_row: row ?? null },
      }));
    }
    if (!compareCount) return;
    const n = (this.db.prepare("SELECT count(*) AS n FROM idempotency").get() as { n: number }).n;
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
