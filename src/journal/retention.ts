/**
 * Retention and compaction: keep the database bounded without breaking what the journal promises.
 *
 * Compaction removes a PREFIX of the journal (every row with seq ≤ a cut) in bounded batches, one
 * short transaction each, so lanes wait at most one batch. The cut is clamped so that it never:
 * - touches a command that is not finished (queued, running, pending) — the cut stays below the
 *   oldest unfinished command's accepted row;
 * - splits a command's rows (a command is removed whole or not at all);
 * - forgets a command whose idempotency key is still live (its `commands` row, and so its stored
 *   outcome, is kept until the key expires, even though its journal rows go).
 * Lane sequence continuity is untouched (lane heads live in `lanes`, and only a prefix goes).
 *
 * Before each batch a checkpoint row records, as of the cut: every live session's state and
 * version, and every lane's last lane_seq. The audit starts from the latest checkpoint.
 *
 * What is forgotten, by design: the ids of removed commands (a re-sent very old id executes
 * anew; a dependsOn on it fails with dependency_unknown) and their journal rows (history,
 * get_command, subscribe fromSeq below the first retained seq).
 */
import { stateAfter } from "../lifecycle/effects.js";
import { UNFINISHED_STATUSES, type SessionEffect } from "../lifecycle/status.js";
import type Database from "better-sqlite3";

export interface RetentionPolicy {
  /** remove finished commands accepted more than this long ago (null: no age limit) */
  maxAgeMs: number | null;
  /** keep at most this many commands (null: no count limit) */
  maxCommands: number | null;
  /** keep the database file under about this many bytes (null: no size limit) */
  maxBytes: number | null;
  /** journal rows removed per transaction */
  batchRows: number;
  /** how often the background compactor runs */
  intervalMs: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { maxAgeMs: null, maxCommands: null, maxBytes: null, batchRows: 2_000, intervalMs: 60_000 };

export function retentionEnabled(p: RetentionPolicy): boolean {
  return p.maxAgeMs !== null || p.maxCommands !== null || p.maxBytes !== null;
}

export interface Checkpoint {
  seq: number;
  createdAt: number;
  /** session id → state and version as of `seq` (live sessions only) */
  sessions: Record<string, { state: unknown; version: number; createdAt: number }>;
  /** lane → last lane_seq with seq ≤ `seq` */
  lanes: Record<string, number>;
}

export interface CompactionReport {
  cut: number;
  removedRows: number;
  removedCommands: number;
  batches: number;
  checkpointSeq: number | null;
}

const one = <T>(db: Database.Database, sql: string, ...args: unknown[]): T | undefined => db.prepare(sql).get(...args) as T | undefined;

/** The latest checkpoint, or null when nothing was ever compacted. */
export function latestCheckpoint(db: Database.Database): Checkpoint | null {
  const row = one<{ seq: number; created_at: number; sessions: string; lanes: string }>(db, "SELECT seq, created_at, sessions, lanes FROM checkpoints ORDER BY seq DESC LIMIT 1");
  if (!row) return null;
  return { seq: row.seq, createdAt: row.created_at, sessions: JSON.parse(row.sessions) as Checkpoint["sessions"], lanes: JSON.parse(row.lanes) as Checkpoint["lanes"] };
}

/** The first retained journal seq (1 when nothing was compacted). */
export function firstRetainedSeq(db: Database.Database): number {
  return (latestCheckpoint(db)?.seq ?? 0) + 1;
}

/** The highest seq the policy asks to remove, clamped to what may be removed (0: nothing). */
export function planCut(db: Database.Database, policy: RetentionPolicy, now: number): number {
  const last = one<{ s: number | null }>(db, "SELECT max(seq) AS s FROM journal")?.s ?? 0;
  if (last === 0) return 0;
  let want = 0;
  if (policy.maxAgeMs !== null) {
    want = Math.max(want, one<{ s: number | null }>(db, "SELECT max(seq) AS s FROM journal WHERE recorded_at < ?", now - policy.maxAgeMs)?.s ?? 0);
  }
  if (policy.maxCommands !== null) {
    const keepFrom = one<{ s: number }>(db, "SELECT accepted_seq AS s FROM commands ORDER BY accepted_seq DESC LIMIT 1 OFFSET ?", Math.max(0, policy.maxCommands - 1));
    if (keepFrom && policy.maxCommands > 0) {
      const total = one<{ n: number }>(db, "SELECT count(*) AS n FROM commands")!.n;
      if (total > policy.maxCommands) want = Math.max(want, keepFrom.s - 1);
    } else if (policy.maxCommands === 0) want = last;
  }
  if (policy.maxBytes !== null) {
    const pageSize = db.pragma("page_size", { simple: true }) as number;
    const pages = (db.pragma("page_count", { simple: true }) as number) - (db.pragma("freelist_count", { simple: true }) as number);
    const bytes = pages * pageSize;
    if (bytes > policy.maxBytes) {
      const rows = one<{ n: number }>(db, "SELECT count(*) AS n FROM journal")!.n;
      const first = firstRetainedSeq(db);
      const perRow = bytes / Math.max(1, rows);
      const excessRows = Math.ceil((bytes - policy.maxBytes) / perRow);
      want = Math.max(want, Math.min(last, first - 1 + excessRows));
    }
  }
  return clampCut(db, Math.min(want, last));
}

/** Lower `cut` until it neither reaches an unfinished command nor splits a finished one. */
export function clampCut(db: Database.Database, cut: number): number {
  if (cut <= 0) return 0;
  // every unfinished status, the governance ones included (pending, approved): their rows are live
  const unfinished = one<{ s: number | null }>(db, `SELECT min(accepted_seq) AS s FROM commands WHERE status IN (${UNFINISHED_STATUSES.map((x) => `'${x}'`).join(",")})`)?.s;
  if (unfinished != null) cut = Math.min(cut, unfinished - 1);
  for (;;) {
    // a command accepted at or before the cut but finished after it would be split
    const split = one<{ s: number | null }>(db, "SELECT min(accepted_seq) AS s FROM commands WHERE accepted_seq <= ? AND finished_seq > ?", cut, cut)?.s;
    if (split == null) return Math.max(0, cut);
    cut = split - 1;
  }
}

/**
 * Remove journal rows up to `cut`, at most `batchRows` per transaction, yielding between batches.
 * Runs on the writer connection (single writer).
 */
export async function compact(db: Database.Database, cut: number, batchRows: number, now: () => number, yieldFn: () => Promise<void> = () => new Promise((r) => setImmediate(r))): Promise<CompactionReport> {
  const report: CompactionReport = { cut, removedRows: 0, removedCommands: 0, batches: 0, checkpointSeq: null };
  for (;;) {
    const target = nextBatchCut(db, cut, batchRows);
    if (target === null) return report;
    const r = db.transaction(() => compactStep(db, target, now)).immediate();
    report.removedRows += r.rows;
    report.removedCommands += r.commands;
    report.batches++;
    report.checkpointSeq = target;
    await yieldFn();
  }
}

/**
 * The cut of the next batch towards `cut` (at most `batchRows` rows, clamped), or null when done. A
 * command whose rows span more than a batch at the head of the journal is taken whole, in one
 * larger batch: clamping it away would stop every later compaction behind it.
 */
export function nextBatchCut(db: Database.Database, cut: number, batchRows: number): number | null {
  const first = firstRetainedSeq(db);
  if (first > cut) return null;
  let t = Math.min(cut, first - 1 + batchRows);
  for (;;) {
    const target = clampCut(db, t);
    if (target >= first) return target;
    // the batch would split a finished command: reach its end (an unfinished one at the head ends it all)
    const end = one<{ s: number | null }>(db, "SELECT max(finished_seq) AS s FROM commands WHERE accepted_seq <= ? AND finished_seq > ?", t, t)?.s;
    if (end == null || end > cut) return null;
    t = end;
  }
}

/**
 * One batch, inside the caller's transaction: the checkpoint as of `target`, then every row up to it
 * and the finished commands whose idempotency key is no longer live. The ids of the removed commands
 * are returned (the Redis store removes their keys too).
 */
export function compactStep(db: Database.Database, target: number, now: () => number): { rows: number; commands: number; removed: string[] } {
  const hasDeps = one<{ n: number }>(db, "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'command_dependencies'")!.n === 1;
  const checkpoint = buildCheckpoint(db, target, now());
  db.prepare("INSERT INTO checkpoints (seq, created_at, sessions, lanes) VALUES (?, ?, ?, ?)").run(checkpoint.seq, checkpoint.createdAt, JSON.stringify(checkpoint.sessions), JSON.stringify(checkpoint.lanes));
  advanceSessionStates(db, checkpoint);
  db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('compaction_in_progress', '1')").run();
  const rows = db.prepare("DELETE FROM journal WHERE seq <= ?").run(target).changes;
  const live = "SELECT 1 FROM idempotency i WHERE i.command_id = commands.command_id AND (i.expires_at IS NULL OR i.expires_at > @now)";
  const at = { cut: target, now: now() };
  const removed = (db.prepare(`SELECT command_id FROM commands WHERE finished_seq <= @cut AND NOT EXISTS (${live})`).all(at) as Array<{ command_id: string }>).map((r) => r.command_id);
  if (hasDeps) db.prepare(`DELETE FROM command_dependencies WHERE command_id IN (SELECT command_id FROM commands WHERE finished_seq <= @cut AND NOT EXISTS (${live}))`).run(at);
  db.prepare("DELETE FROM idempotency WHERE expires_at IS NOT NULL AND expires_at <= @now AND command_id IN (SELECT command_id FROM commands WHERE finished_seq <= @cut)").run(at);
  const commands = db.prepare(`DELETE FROM commands WHERE finished_seq <= @cut AND NOT EXISTS (${live})`).run(at).changes;
  db.prepare("DELETE FROM meta WHERE key = 'compaction_in_progress'").run();
  return { rows, commands, removed };
}

/**
 * (v6) A session whose state checkpoint (session_states) lies before the cut in its lane would
 * need patches the cut removes: its checkpoint moves to the state as of the cut. (A session created
 * after the cut, even under an id deleted before it, is checkpointed at or after the cut's head.)
 */
function advanceSessionStates(db: Database.Database, cp: Checkpoint): void {
  const put = db.prepare("UPDATE session_states SET version = ?, lane_seq = ?, state = ? WHERE session_id = ? AND lane_seq < ?");
  for (const [id, s] of Object.entries(cp.sessions)) {
    const head = cp.lanes[`session:${id}`] ?? 0;
    put.run(s.version, head, JSON.stringify(s.state), id, head);
  }
}

/** Session states and lane heads as of `seq`: the previous checkpoint overlaid with the rows after it. */
export function buildCheckpoint(db: Database.Database, seq: number, createdAt: number): Checkpoint {
  const prev = latestCheckpoint(db);
  const sessions: Checkpoint["sessions"] = { ...(prev?.sessions ?? {}) };
  const lanes: Checkpoint["lanes"] = { ...(prev?.lanes ?? {}) };
  const from = prev?.seq ?? 0;
  const effects = db
    .prepare("SELECT session_id, effect, recorded_at FROM journal WHERE seq > ? AND seq <= ? AND phase = 'finished' AND effect IS NOT NULL ORDER BY seq")
    .all(from, seq) as Array<{ session_id: string | null; effect: string; recorded_at: number }>;
  for (const e of effects) {
    const effect = JSON.parse(e.effect) as SessionEffect;
    if (effect.kind === "delete") delete sessions[effect.sessionId];
    else if (effect.kind === "create") sessions[effect.sessionId] = { state: effect.state, version: effect.version ?? 0, createdAt: effect.createdAt ?? e.recorded_at };
    else {
      const prior = sessions[effect.sessionId];
      sessions[effect.sessionId] = { state: stateAfter(effect, prior?.state), version: effect.version ?? 0, createdAt: prior?.createdAt ?? e.recorded_at };
    }
  }
  const heads = db.prepare("SELECT lane, max(lane_seq) AS s FROM journal WHERE seq > ? AND seq <= ? GROUP BY lane").all(from, seq) as Array<{ lane: string; s: number }>;
  for (const h of heads) lanes[h.lane] = h.s;
  return { seq, createdAt, sessions, lanes };
}

/** The policy from the flat config settings (0 disables a limit). */
export function retentionPolicy(c: { retentionMaxAgeMs: number; retentionMaxCommands: number; retentionMaxBytes: number; retentionBatchRows: number; retentionIntervalMs: number }): RetentionPolicy {
  return {
    maxAgeMs: c.retentionMaxAgeMs > 0 ? c.retentionMaxAgeMs : null,
    maxCommands: c.retentionMaxCommands > 0 ? c.retentionMaxCommands : null,
    maxBytes: c.retentionMaxBytes > 0 ? c.retentionMaxBytes : null,
    batchRows: c.retentionBatchRows,
    intervalMs: c.retentionIntervalMs,
  };
}
