/**
 * The Redis checkpoint's projection base: what a projection rebuilt from a compacted Redis journal
 * starts from, since the records of the removed prefix are gone from the stream.
 *
 * It is read from the writer's projection right after that projection was compacted to `seq` (same
 * transaction), and holds the projection's rows AS OF `seq` that the retained stream (seq > `seq`)
 * does not imply:
 * - the latest retention checkpoint row (seq, live sessions' state / version / createdAt, lane heads);
 * - the commands kept for a live idempotency key (accepted at or before `seq`, so finished: the
 *   clamp never leaves part of a command) with their idempotency rows, dependencies, tags,
 *   decisions and clock regressions;
 * - sessions and their state checkpoints (session_states): a session no retained record changes
 *   is copied as it is; one that a retained record changes is put back as the checkpoint had it
 *   (the retained records then move it exactly as they moved the writer's projection);
 * - lane heads as of `seq` (the checkpoint's);
 * - the clock regressions of every command still there, the retained ones' included: a regression's
 *   `previous_max` is the latest acceptedAt among the commands present when it was accepted, which
 *   a later compaction changes; the replay computes it among fewer commands, so the writer's rows
 *   are put back after the catch-up (restoreAfterCatchUp).
 * Loaded into an empty projection before it opens (SqliteStore `seed`), then the retained stream
 * is committed on top: the same rows as the writer's projection.
 */
import type Database from "better-sqlite3";
import { latestCheckpoint, type Checkpoint } from "../retention.js";

type Row = Record<string, unknown>;

export interface ProjectionBase {
  /** the checkpoint's seq: the stream keeps the records after it */
  seq: number;
  /** table → rows (column → value) */
  tables: Record<string, Row[]>;
}

const KEPT = "SELECT command_id FROM commands WHERE accepted_seq <= @seq";

/** Rows of the kept commands (and what hangs off them), as the projection holds them. */
const COPIED: Array<[table: string, sql: string]> = [
  ["checkpoints", "SELECT * FROM checkpoints WHERE seq = @seq"],
  ["commands", "SELECT * FROM commands WHERE accepted_seq <= @seq"],
  ["idempotency", `SELECT * FROM idempotency WHERE command_id IN (${KEPT})`],
  ["command_dependencies", "SELECT * FROM command_dependencies WHERE accepted_seq <= @seq"],
  // by accepted_seq: an id removed and accepted again later is another command (its old rows stay behind in SQLite)
  ["command_tags", "SELECT * FROM command_tags WHERE accepted_seq IN (SELECT accepted_seq FROM commands WHERE accepted_seq <= @seq)"],
  ["decisions", "SELECT d.* FROM decisions d JOIN commands c USING (command_id) WHERE c.accepted_seq <= @seq AND d.seq >= c.accepted_seq"],
  // every command's, the retained ones' too: restoreAfterCatchUp puts them back after the replay
  ["clock_regressions", "SELECT * FROM clock_regressions WHERE accepted_seq IN (SELECT accepted_seq FROM commands)"],
];

/** Sessions a retained record (seq > cut) changes: their rows now are not their rows as of the cut. */
const TOUCHED = "SELECT DISTINCT json_extract(effect, '$.sessionId') AS id FROM journal WHERE seq > ? AND phase = 'finished' AND effect IS NOT NULL";

function sessionsAsOf(db: Database.Database, cp: Checkpoint): { sessions: Row[]; states: Row[] } {
  const touched = new Set((db.prepare(TOUCHED).all(cp.seq) as Array<{ id: string }>).map((r) => r.id));
  const sessions: Row[] = [];
  const states: Row[] = [];
  for (const row of db.prepare("SELECT * FROM sessions ORDER BY session_id").all() as Row[]) {
    const id = row.session_id as string;
    if (!touched.has(id)) sessions.push(row);
    else {
      // live at the cut: as the checkpoint has it (updated_at is rewritten by the retained record that changes it)
      const s = cp.sessions[id];
      if (s) sessions.push({ ...row, version: s.version, created_at: s.createdAt, updated_at: s.createdAt, deleted_at: null });
    }
  }
  for (const row of db.prepare("SELECT * FROM session_states ORDER BY session_id").all() as Row[]) {
    const id = row.session_id as string;
    if (!touched.has(id)) states.push(row);
  }
  for (const id of touched) {
    const s = cp.sessions[id];
    if (s) states.push({ session_id: id, version: s.version, lane_seq: cp.lanes[`session:${id}`] ?? 0, state: JSON.stringify(s.state) });
  }
  return { sessions, states };
}

/** The base of a projection compacted to `seq` (its latest checkpoint must be at `seq`). */
export function buildProjectionBase(db: Database.Database, seq: number): ProjectionBase {
  const cp = latestCheckpoint(db);
  if (!cp || cp.seq !== seq) throw new Error(`the projection's latest checkpoint is at seq ${cp?.seq ?? 0}, not ${seq}`);
  const tables: Record<string, Row[]> = {};
  for (const [table, sql] of COPIED) tables[table] = db.prepare(sql).all({ seq }) as Row[];
  const { sessions, states } = sessionsAsOf(db, cp);
  tables.sessions = sessions;
  tables.session_states = states;
  const updated = new Map((db.prepare("SELECT lane, updated_at FROM lanes").all() as Array<{ lane: string; updated_at: number }>).map((r) => [r.lane, r.updated_at]));
  tables.lanes = Object.entries(cp.lanes).map(([lane, head]) => ({ lane, last_lane_seq: head, updated_at: updated.get(lane) ?? cp.createdAt }));
  return { seq, tables };
}

const IDENT = /^[a-z_]+$/;

function insertRows(db: Database.Database, table: string, rows: Row[], verb: "INSERT" | "INSERT OR REPLACE"): void {
  for (const row of rows) {
    const cols = Object.keys(row);
    if (!IDENT.test(table) || !cols.every((c) => IDENT.test(c))) throw new Error(`the Redis checkpoint names table ${table} / columns ${cols.join(", ")}: not a projection table`);
    db.prepare(`${verb} INTO ${table} (${cols.join(", ")}) VALUES (${cols.map((c) => `@${c}`).join(", ")})`).run(row);
  }
}

/** Insert a base into an empty projection (after its migrations, before it reads its recovered state). */
export function loadProjectionBase(db: Database.Database, base: ProjectionBase): void {
  db.transaction(() => {
    for (const [table, rows] of Object.entries(base.tables)) insertRows(db, table, rows, "INSERT");
  })();
}

/** After the retained stream was committed on a seeded projection: the writer's clock regressions back. */
export function restoreAfterCatchUp(db: Database.Database, base: ProjectionBase): void {
  db.transaction(() => insertRows(db, "clock_regressions", base.tables.clock_regressions ?? [], "INSERT OR REPLACE"))();
}
