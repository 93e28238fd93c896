/**
 * `events()`: journaled lifecycle events in `seq` order. A stream subscribes from the last `seq`
 * it yielded, again after every reconnect and after the server dropped events for a slow
 * connection, so a consumer sees no gap and no duplicate.
 */
import { CommandFailedError } from "./errors.js";
import type { ClientState, EventsOptions } from "./options.js";
import type { AnyCommand, LifecycleEvent, Response } from "./types.js";

const JOURNALED = new Set(["command_accepted", "command_started", "command_finished", "command_rejected", "command_requeued"]);

/** A parsed frame that is a journaled lifecycle event (it carries its `seq`). */
export function isJournaledEvent(f: Record<string, any>): boolean {
  return JOURNALED.has(f.type as string) && typeof f.data?.seq === "number";
}

/** What a stream needs from its connection. */
export interface StreamHost {
  readonly state: ClientState;
  /** a frame that is not re-sent on reconnect, with a synchronous response hook */
  sendInternal(command: AnyCommand, onResponse?: (f: Response) => void): Promise<Response>;
  once(event: "open", listener: () => void): unknown;
}

/** One `events()` iterator. */
export class EventStream implements AsyncIterableIterator<LifecycleEvent> {
  private lastSeq: number | null;
  private readonly buf: LifecycleEvent[] = [];
  private waiter: { resolve(r: IteratorResult<LifecycleEvent>): void; reject(e: Error): void } | null = null;
  private accepting = false;
  private paused = false;
  private done = false;
  private error: Error | null = null;
  private readonly maxBuffered: number;
  private readonly onAbort = (): void => void this.return();

  constructor(
    private readonly client: StreamHost,
    private readonly opts: EventsOptions,
    private readonly detach: () => void,
  ) {
    this.lastSeq = opts.fromSeq ?? null;
    this.maxBuffered = Math.max(2, opts.maxBuffered ?? 10_000);
    opts.signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  start(): void {
    if (this.opts.signal?.aborted) return void this.return();
    if (this.lastSeq !== null) return this.resubscribe();
    // "from now": the last committed seq, then a resumable subscription from it
    this.client.sendInternal({ type: "health_check" }).then(
      (r) => {
        if (this.done) return;
        if (!r.success) return this.end(new CommandFailedError(r));
        this.lastSeq = (r.data as { journal: { lastSeq: number } }).journal.lastSeq;
        this.resubscribe();
      },
      () => {
        // disconnected before the answer: retry once the client is open again
        if (!this.done) this.client.once("open", () => this.start());
      },
    );
  }

  /** (Re)subscribe from the last seq yielded; events are accepted from its response on. */
  resubscribe(): void {
    if (this.done || this.paused || this.lastSeq === null || this.client.state !== "open") return;
    this.accepting = false;
    const cmd = this.opts.sessionId !== undefined ? { type: "subscribe", sessionId: this.opts.sessionId, fromSeq: this.lastSeq } : { type: "subscribe", scope: "all", fromSeq: this.lastSeq };
    this.client
      .sendInternal(cmd, (r) => {
        if (r.success) this.accepting = true;
        else this.end(new CommandFailedError(r));
      })
      .catch(() => {
        /* disconnected: resubscribed after the reconnect */
      });
  }

  offer(ev: LifecycleEvent): void {
    if (!this.accepting || this.done) return;
    const d = ev.data;
    if (this.opts.sessionId !== undefined && d.laneKey !== `session:${this.opts.sessionId}`) return;
    if (this.lastSeq !== null && d.seq <= this.lastSeq) return; // replayed twice across a re-subscribe
    this.lastSeq = d.seq;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ value: ev, done: false });
      return;
    }
    this.buf.push(ev);
    if (this.buf.length >= this.maxBuffered) {
      // a slow consumer: stop buffering, resume from the journal once it has caught up
      this.paused = true;
      this.accepting = false;
    }
  }

  disconnected(): void {
    this.accepting = false;
  }

  /** the server dropped events for this connection: re-read them from the journal */
  resync(): void {
    this.accepting = false;
    this.resubscribe();
  }

  end(err: Error | null): void {
    if (this.done) return;
    this.done = true;
    this.error = err;
    this.detach();
    this.opts.signal?.removeEventListener("abort", this.onAbort);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      if (err) w.reject(err);
      else w.resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<LifecycleEvent>> {
    const value = this.buf.shift();
    if (value !== undefined) {
      if (this.paused && this.buf.length <= this.maxBuffered / 2) {
        this.paused = false;
        this.resubscribe();
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.error) return Promise.reject(this.error);
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  return(): Promise<IteratorResult<LifecycleEvent>> {
    this.buf.length = 0;
    this.end(null);
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<LifecycleEvent> {
    return this;
  }
}
