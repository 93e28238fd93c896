/**
 * Group commit. Every journal row produced in one event-loop turn is buffered and written in ONE
 * store transaction at the next `setImmediate`. Callbacks registered for a row run only after its
 * transaction committed (persist-before-publish); if the transaction fails they are dropped and
 * `onFail` callbacks run instead.
 *
 * The committer also owns the sequence counters: the global `seq` and each lane's `laneSeq`, both
 * gap-free. On a failed commit the counters fall back to the last committed values, so the next
 * batch reuses the numbers the failed one never made durable.
 */
import type { JournalRecord, NewRecord, Store } from "../journal/types.js";
import { NOOP_OBSERVER, type EngineObserver } from "../observability/observer.js";

export type { NewRecord };

/** What runs once a record's batch committed (or failed). */
export interface CommitHooks {
  onCommit?: (record: JournalRecord) => void;
  onFail?: (err: unknown) => void;
}

export interface CommitterStats {
  batches: number;
  records: number;
  failures: number;
  lastBatchSize: number;
  degraded: boolean;
  lastError: string | null;
  lastErrorAt: number | null;
}

export class Committer {
  private buffer: JournalRecord[] = [];
  private hooks: CommitHooks[] = [];
  private scheduled = false;
  private nextSeq: number;
  private readonly laneSeqs = new Map<string, number>();
  private committedSeq: number;
  private readonly committedLaneSeqs = new Map<string, number>();
  private waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  private idleWaiters: Array<() => void> = [];
  private backoffMs = 0;
  private failureHandler: (err: unknown) => void = () => {};
  readonly stats: CommitterStats = {
    batches: 0,
    records: 0,
    failures: 0,
    lastBatchSize: 0,
    degraded: false,
    lastError: null,
    lastErrorAt: null,
  };

  constructor(
    private readonly store: Store,
    lastSeq: number,
    laneSeqs: Array<{ lane: string; laneSeq: number }>,
    /** applied to every record before it is buffered: redaction happens before persist */
    private readonly transform: (record: NewRecord) => NewRecord = (r) => r,
    private readonly observer: EngineObserver = NOOP_OBSERVER,
  ) {
    this.nextSeq = lastSeq + 1;
    this.committedSeq = lastSeq;
    for (const { lane, laneSeq } of laneSeqs) {
      this.laneSeqs.set(lane, laneSeq);
      this.committedLaneSeqs.set(lane, laneSeq);
    }
  }

  /** Called after a failed batch, once counters have been reset (the engine fails what depended on it). */
  onFailure(handler: (err: unknown) => void): void {
    this.failureHandler = handler;
  }

  lastSeq(): number {
    return this.committedSeq;
  }

  /**
   * A lane this node took over on a shared journal: it continues from `laneSeq`, the lane's head
   * as the journal holds it (the store numbers `seq` there: it continues whatever the other nodes wrote).
   */
  adoptLane(lane: string, laneSeq: number): void {
    this.laneSeqs.set(lane, laneSeq);
    this.committedLaneSeqs.set(lane, laneSeq);
  }

  append(record: NewRecord, hooks: CommitHooks = {}): JournalRecord {
    const laneSeq = (this.laneSeqs.get(record.lane) ?? 0) + 1;
    this.laneSeqs.set(record.lane, laneSeq);
    // the record is built for this call (engine/records.ts, duplicates.ts) or copied by the
    // redactor: numbered in place rather than copied again (#17)
    const full = this.transform(record) as JournalRecord;
    full.seq = this.nextSeq++;
    full.laneSeq = laneSeq;
    this.buffer.push(full);
    this.hooks.push(hooks);
    this.schedule();
    return full;
  }

  /** Resolves when everything appended so far is committed; rejects if that batch fails. */
  committed(): Promise<void> {
    if (this.buffer.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Resolves once the buffer is empty (used by shutdown/drain). */
  idle(): Promise<void> {
    if (this.buffer.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Records appended but not yet committed. */
  hasUncommitted(): boolean {
    return this.buffer.length > 0;
  }

  /** Commit now, synchronously (recovery at boot, tests). Returns false if the commit failed. */
  flushNow(): boolean {
    return this.flush();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    if (this.backoffMs > 0) setTimeout(() => this.flush(), this.backoffMs).unref?.();
    else setImmediate(() => this.flush());
  }

  private flush(): boolean {
    this.scheduled = false;
    if (this.buffer.length === 0) return true;
    const batch = this.buffer;
    const hooks = this.hooks;
    const waiters = this.waiters;
    this.buffer = [];
    this.hooks = [];
    this.waiters = [];
    const t0 = performance.now();
    try {
      this.store.commit(batch);
    } catch (err) {
      this.observer.commit(batch.length, performance.now() - t0, false);
      this.stats.failures++;
      this.stats.degraded = true;
      this.stats.lastError = err instanceof Error ? err.message : String(err);
      this.stats.lastErrorAt = Date.now();
      this.backoffMs = Math.min(this.backoffMs === 0 ? 50 : this.backoffMs * 2, 5_000);
      // Counters fall back to the last durable values; anything appended during the handler
      // below (repair rows) is numbered from there.
      this.nextSeq = this.committedSeq + 1;
      this.laneSeqs.clear();
      for (const [lane, seq] of this.committedLaneSeqs) this.laneSeqs.set(lane, seq);
      for (const h of hooks) h.onFail?.(err);
      for (const w of waiters) w.reject(err);
      this.failureHandler(err);
      this.notifyIdle();
      return false;
    }
    this.observer.commit(batch.length, performance.now() - t0, true);
    this.backoffMs = 0;
    this.stats.degraded = false;
    this.stats.batches++;
    this.stats.records += batch.length;
    this.stats.lastBatchSize = batch.length;
    for (const r of batch) {
      this.committedSeq = r.seq;
      this.committedLaneSeqs.set(r.lane, r.laneSeq);
    }
    for (let i = 0; i < batch.length; i++) hooks[i]!.onCommit?.(batch[i]!);
    for (const w of waiters) w.resolve();
    this.notifyIdle();
    return true;
  }

  private notifyIdle(): void {
    if (this.buffer.length > 0) return;
    const idle = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of idle) f();
  }
}
