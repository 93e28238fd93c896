/**
 * The audit's session table: what the journal implies about every session (live, version, state,
 * timestamps) at the current point of the scan. It is also the re-execution session table: a
 * deterministic handler runs against it, then the recorded effect is applied (so one divergence is
 * reported once instead of cascading).
 *
 * Knowledge can be partial: a windowed audit learns a session's state from a bounded lookup or
 * from its first change in the window; a session-filtered audit knows other sessions only by
 * their creates and deletes (their lanes are not read). Unknown facts are `null`.
 *
 * An undo log (only while a server-lane command is between `started` and `finished`) lets the
 * re-executor try the table as it was at each point in between: a server-lane handler reading
 * other sessions (list_sessions) ran at some moment between its two rows.
 */
import type { SessionBaseline } from "./prior.js";

export interface SessionRec {
  /** null: unknown whether it exists */
  readonly live: boolean | null;
  /** null: unknown */
  readonly version: number | null;
  readonly state: unknown;
  readonly stateKnown: boolean;
  /** sessions.created_at: the create effect's createdAt (its acceptedAt), or for older rows the finished row's recorded_at */
  readonly createdAt: number | null;
  /** the create command's acceptedAt: the createdAt the engine hands to handlers */
  readonly createdAtCtx: number | null;
  readonly updatedAt: number | null;
  readonly deletedAt: number | null;
  /** its last change is inside the audited scope (the sessions row can be compared) */
  readonly touched: boolean;
}

const UNDO_MAX = 10_000;

interface UndoEntry {
  id: string;
  before: SessionRec | undefined;
  after: SessionRec | undefined;
}

export interface SessionTableOptions {
  /** every session that exists is known (the scan started at the beginning of the retained journal) */
  universeKnown: boolean;
  /** session-filtered audit: only this session's lane is read */
  onlySession: string | null;
  /** a session's state before the window (windowed audits) */
  resolve?: (sessionId: string, beforeSeq: number) => SessionBaseline;
  /** sessions from a compaction checkpoint */
  initial?: Record<string, { state: unknown; version: number; createdAt: number }>;
}

export class AuditSessions {
  private readonly map = new Map<string, SessionRec>();
  private undo: UndoEntry[] = [];
  private marks = 0;
  private overflow = false;

  constructor(private readonly opts: SessionTableOptions) {
    for (const [id, s] of Object.entries(opts.initial ?? {})) {
      this.map.set(id, {
        live: true,
        version: this.versionTracked(id) ? s.version : null,
        state: s.state,
        stateKnown: this.versionTracked(id),
        createdAt: s.createdAt,
        // a checkpoint keeps the create effect's createdAt (older checkpoints: the create row's
        // recorded_at); which of the two it is went with the compacted rows
        createdAtCtx: null,
        updatedAt: null,
        deletedAt: null,
        touched: false,
      });
    }
  }

  get universeKnown(): boolean {
    return this.opts.universeKnown;
  }

  /** Versions and states of this session are visible to the scan. */
  versionTracked(sessionId: string): boolean {
    return this.opts.onlySession === null || this.opts.onlySession === sessionId;
  }

  /** The session as of the current row (seq `atSeq`); looks a windowed audit's unknown session up once. */
  get(sessionId: string, atSeq: number): SessionRec | undefined {
    const hit = this.map.get(sessionId);
    if (hit || this.opts.universeKnown || !this.opts.resolve) return hit;
    const b = this.opts.resolve(sessionId, atSeq);
    const rec: SessionRec = !b.known
      ? { live: null, version: null, state: undefined, stateKnown: false, createdAt: null, createdAtCtx: null, updatedAt: null, deletedAt: null, touched: false }
      : !b.live
        ? { live: false, version: null, state: undefined, stateKnown: false, createdAt: null, createdAtCtx: null, updatedAt: null, deletedAt: null, touched: false }
        : { live: true, version: b.version, state: b.state, stateKnown: true, createdAt: b.createdAt, createdAtCtx: b.createdAtCtx, updatedAt: null, deletedAt: null, touched: false };
    this.map.set(sessionId, rec);
    return rec;
  }

  /** Without lookups (materialized comparison, listing). */
  peek(sessionId: string): SessionRec | undefined {
    return this.map.get(sessionId);
  }

  set(sessionId: string, rec: SessionRec): void {
    const before = this.map.get(sessionId);
    // like the engine's table: a re-created session moves to the end of the listing order
    if (before && before.live === false && rec.live) this.map.delete(sessionId);
    this.map.set(sessionId, rec);
    if (this.marks > 0 && !this.overflow) {
      this.undo.push({ id: sessionId, before, after: rec });
      if (this.undo.length > UNDO_MAX) {
        this.overflow = true;
        this.undo = [];
      }
    }
  }

  entries(): IterableIterator<[string, SessionRec]> {
    return this.map.entries();
  }

  get size(): number {
    return this.map.size;
  }

  // ------------------------------------------------------------ undo log (server-lane re-execution)

  /** A server-lane command started: remember this point. Returns -1 when the log overflowed. */
  openMark(): number {
    this.marks++;
    return this.overflow ? -1 : this.undo.length;
  }

  closeMark(): void {
    this.marks = Math.max(0, this.marks - 1);
    if (this.marks === 0) {
      this.undo = [];
      this.overflow = false;
    }
  }

  /** How many table changes happened since `mark`. */
  changesSince(mark: number): number {
    return mark < 0 || this.overflow ? 0 : this.undo.length - mark;
  }

  /** Put the table back to how it was `k` changes after `mark` (k < changesSince(mark)). */
  rewindTo(mark: number, k: number): void {
    for (let i = this.undo.length - 1; i >= mark + k; i--) this.restore(this.undo[i]!.id, this.undo[i]!.before);
  }

  /** Undo a rewind. */
  fastForward(mark: number, k: number): void {
    for (let i = mark + k; i < this.undo.length; i++) this.restore(this.undo[i]!.id, this.undo[i]!.after);
  }

  private restore(id: string, rec: SessionRec | undefined): void {
    if (rec) this.map.set(id, rec);
    else this.map.delete(id);
  }
}
