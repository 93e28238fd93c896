/**
 * Resumable subscriptions: `subscribe {…, fromSeq}` first replays every journaled event after
 * `fromSeq` that matches the subscription, then continues live — with no gap and no duplicate.
 *
 * Why it is exact: every journal row ≤ committer.lastSeq() has already been published (publishing
 * happens synchronously inside the commit), and every later row will be published after its
 * commit. While catching up, live events matching the subscription are suppressed for this
 * connection (they are in the journal and will be replayed). The switch to live happens in the
 * same synchronous step that reads the journal up to lastSeq(), so nothing falls between.
 *
 * Catch-up is paged and respects the connection's outbound buffer, so a large backlog neither
 * blocks the event loop nor trips the slow-consumer event dropping.
 */
import type { JournalQueries } from "../journal/types.js";
import { serialize } from "../protocol/frames.js";
import type { Connection } from "../protocol/connection.js";
import type { Committer } from "./committer.js";
import type { Publisher, SubscriptionFilter } from "./publisher.js";
import { eventFromRecord, type CausalLookup } from "./records.js";

export interface CatchUpOptions {
  pageSize: number;
  /** pause while the connection has more than this many bytes queued */
  highWaterBytes: number;
}

export class CatchUp {
  private readonly lookup: CausalLookup;

  constructor(
    private readonly store: Pick<JournalQueries, "readJournal" | "causalFields">,
    private readonly committer: Committer,
    private readonly publisher: Publisher,
    private readonly opts: CatchUpOptions,
  ) {
    this.lookup = (commandId) => store.causalFields(commandId);
  }

  /** Hold back live events matching `filter` for `conn` from now on: they will be replayed by `start`. */
  hold(conn: Connection, filter: SubscriptionFilter): void {
    this.publisher.suppress(conn, filter);
  }

  /**
   * Begin replaying (after the subscribe response went out: the resumed stream starts with it);
   * `subscribe` is called once caught up, to attach the live subscription.
   */
  start(conn: Connection, filter: SubscriptionFilter, fromSeq: number, subscribe: () => void): void {
    this.publisher.suppress(conn, filter);
    let cursor = fromSeq;
    const step = (): void => {
      if (conn.closed) return this.publisher.unsuppress(conn);
      if (conn.bufferedBytes() > this.opts.highWaterBytes) {
        setTimeout(step, 5);
        return;
      }
      const upto = this.committer.lastSeq();
      const rows = this.store.readJournal({ afterSeq: cursor, toSeq: upto, sessionId: filter.sessionId, limit: this.opts.pageSize });
      for (const r of rows) {
        const ev = eventFromRecord(r, this.lookup);
        // the replay obeys the same read visibility as live delivery
        if (ev && this.publisher.visibleTo(conn, r.sessionId, r.actor)) conn.send(serialize(ev), "event");
        cursor = r.seq;
      }
      if (rows.length === this.opts.pageSize && cursor < upto) {
        setImmediate(step);
        return;
      }
      // caught up to `upto`, and everything after it is still to be published: go live now
      this.publisher.unsuppress(conn);
      subscribe();
      conn.send(serialize({ type: "subscription_live", data: { fromSeq, replayedThroughSeq: cursor, lastSeq: upto } }), "event");
    };
    setImmediate(step);
  }
}

