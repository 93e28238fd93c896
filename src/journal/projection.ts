/**
 * The derived tables as a projection written less often than the journal (issue #17).
 *
 * Every batch still appends its journal rows and commits them at once, and every check of the batch
 * (seq / lane_seq gap-free, the first change of each derived row against the stored row, later
 * changes in memory) still runs in it (materialize.ts, batch-fold.ts). With `projectionFlushMs` > 0
 * the derived rows it changes (commands, idempotency, sessions, session_states, lanes) stay deferred
 * in memory and are written by a FLUSH: every `projectionFlushMs` (piggybacked on the next commit,
 * or by a timer while idle), when `projectionMaxRecords` records are deferred, and before anything
 * reads the derived tables (the store calls `settle()`). A flush writes meta `materialized_seq`, the
 * watermark: the derived tables hold every journal row up to it. A journal without it is fully
 * materialized (every journal from before, and every store with `projectionFlushMs` 0).
 *
 * Restart (and a batch or flush that rolled back, which loses the deferred state): the journal rows
 * after the watermark are materialized again from the journal (`catchUp`) in one transaction before
 * anything reads the tables. The rows that are not deferred (command_dependencies, command_tags,
 * clock_regressions, decisions: rare, written with their journal row) are not written again.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Materializer, type WriteMode } from "./materialize.js";
import { readJournal } from "./reader.js";
import { prepareStatements } from "./statements.js";
import { TransitionStatements } from "./transition-sql.js";
import type { StoreLog } from "./types.js";

/** SQLite's `synchronous` level NORMAL (0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA). */
const SYNCHRONOUS_NORMAL = 1;

/** Journal rows materialized per step of a catch-up (one transaction in all). */
const CATCH_UP_PAGE = 10_000;

export interface ProjectionOptions {
  /** flush the deferred rows this often (ms); 0: every batch writes its derived rows (no deferral, no watermark) */
  flushMs: number;
  /** flush once this many records are deferred */
  maxRecords: number;
  now: () => number;
  log?: StoreLog | undefined;
}

/** The watermark of a journal file: undefined when the derived tables hold every row (no lag recorded). */
export function readWatermark(db: Database.Database): number | undefined {
  const row = db.prepare("SELECT value FROM meta WHERE key = 'materialized_seq'").get() as { value: string } | undefined;
  return row === undefined ? undefined : Number(row.value);
}

/** The last journal row's seq (0 for none). */
function lastRowSeq(db: Database.Database): number {
  return (db.prepare("SELECT coalesce(max(seq), 0) AS s FROM journal").get() as { s: number }).s;
}

export class Projection {
  private lastFlush: number;
  /** the deferred state was lost (a batch or flush rolled back): the tables need a catch-up */
  private lagging = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Database.Database,
    private readonly m: Materializer,
    private readonly opts: ProjectionOptions,
  ) {
    this.lastFlush = opts.now();
  }

  get enabled(): boolean {
    return this.opts.flushMs > 0;
  }

  /** At open, before the recovered state is read: catch up, then record the watermark (deferral) or drop it (per batch). */
  open(): void {
    this.catchUp();
    const has = readWatermark(this.db) !== undefined;
    if (this.enabled) this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('materialized_seq', ?)").run(String(lastRowSeq(this.db)));
    else if (has) this.db.prepare("DELETE FROM meta WHERE key = 'materialized_seq'").run();
    if (this.enabled) {
      this.timer = setInterval(() => this.onTimer(), this.opts.flushMs);
      this.timer.unref();
    }
  }

  /** How the next batch of `n` records is written: deferred, or flushing everything with it when due. */
  mode(n: number): WriteMode {
    if (!this.enabled) return { append: true, defer: false, watermark: false };
    const due = this.m.deferred + n >= this.opts.maxRecords || this.opts.now() - this.lastFlush >= this.opts.flushMs;
    return { append: true, defer: !due, watermark: true };
  }

  /** Before a batch: the tables must not lag behind what the materializer remembers. */
  beforeBatch(): void {
    if (this.lagging) this.catchUp();
  }

  /** After a batch committed (`flushed`: with everything deferred before it). */
  committed(flushed: boolean): void {
    if (flushed) this.lastFlush = this.opts.now();
  }

  /** After a batch rolled back: whatever was deferred is gone with it; the journal still has it. */
  failed(): void {
    if (this.enabled) this.lagging = true;
  }

  /** Before a read of the derived tables: write everything deferred (its own transaction, or the caller's). */
  settle(lastSeq: number): void {
    if (this.lagging) return this.catchUp();
    if (this.m.deferred === 0) return;
    try {
      if (this.db.inTransaction) this.m.flush(lastSeq, true);
      else this.flushOnItsOwn(lastSeq);
    } catch (err) {
      this.lagging = true;
      throw err;
    }
    this.lastFlush = this.opts.now();
  }

  /**
   * A flush in a transaction of its own holds only derived rows and the watermark, all rebuilt from
   * the journal by a catch-up if lost, so it commits without waiting for an fsync: with
   * `synchronous = NORMAL` a WAL commit is still atomic and never corrupts the file; a power cut may
   * roll it back (the tables then lag again, as after a kill -9), and the next fsync'd commit makes
   * it durable with its own frames. A read after a write, and the idle timer, no longer wait on one.
   */
  private flushOnItsOwn(lastSeq: number): void {
    const level = this.db.pragma("synchronous", { simple: true }) as number;
    const relax = level > SYNCHRONOUS_NORMAL;
    if (relax) this.db.pragma(`synchronous = ${SYNCHRONOUS_NORMAL}`);
    try {
      this.db.transaction(() => this.m.flush(lastSeq, true)).immediate();
    } finally {
      if (relax) this.db.pragma(`synchronous = ${level}`);
    }
  }

  /** Materialize the journal rows after the watermark again (restart, or deferred state lost), in one transaction. */
  catchUp(): void {
    this.m.lose();
    const from = readWatermark(this.db);
    const last = lastRowSeq(this.db);
    if (from !== undefined && from < last) {
      this.db
        .transaction(() => {
          const heads = new Map<string, number>();
          for (const l of this.db.prepare("SELECT lane, last_lane_seq FROM lanes").all() as Array<{ lane: string; last_lane_seq: number }>) heads.set(l.lane, l.last_lane_seq);
          let after = from;
          while (after < last) {
            const records = readJournal(this.db, { afterSeq: after, toSeq: last, limit: CATCH_UP_PAGE });
            if (records.length === 0) break;
            const res = this.m.write(records, after, heads, { append: false, defer: false, watermark: true });
            for (const [lane, u] of res.lanes) heads.set(lane, u.laneSeq);
            after = res.lastSeq;
          }
        })
        .immediate();
    }
    this.lagging = false;
    this.lastFlush = this.opts.now();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private onTimer(): void {
    if (this.m.deferred === 0 && !this.lagging) return;
    if (this.opts.now() - this.lastFlush < this.opts.flushMs) return;
    try {
      this.settle(lastRowSeq(this.db));
    } catch (err) {
      this.opts.log?.error({ err: err instanceof Error ? err.message : String(err) }, "projection flush failed; the derived tables catch up from the journal before the next read or commit");
    }
  }
}

/** Where a file's derived tables stop short of its journal: rows `fromSeq`..`toSeq` are not materialized yet. */
export interface ProjectionLag {
  fromSeq: number;
  toSeq: number;
}

/** The lag of a journal file's derived tables (read-only), or null when they hold every row. */
export function projectionLag(db: Database.Database): ProjectionLag | null {
  const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() !== undefined;
  const w = has ? readWatermark(db) : undefined;
  const last = lastRowSeq(db);
  return w !== undefined && w < last ? { fromSeq: w + 1, toSeq: last } : null;
}

/**
 * A reader of a file whose derived tables lag (a kill -9 between a commit and its flush): a private
 * copy of the file (VACUUM INTO, from the read-only connection `db`) caught up the way a restart
 * catches up. Returns the copy's path and its removal.
 */
export function caughtUpCopy(db: Database.Database): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "causeway-projection-"));
  const path = join(dir, "caught-up.db");
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    db.prepare("VACUUM INTO ?").run(path);
    const w = new Database(path);
    try {
      const m = new Materializer(prepareStatements(w), new TransitionStatements(w), () => w.inTransaction);
      new Projection(w, m, { flushMs: 0, maxRecords: 1, now: Date.now }).catchUp();
    } finally {
      w.close();
    }
    return { path, remove };
  } catch (err) {
    remove();
    throw err;
  }
}
