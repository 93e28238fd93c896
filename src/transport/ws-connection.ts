/**
 * One WebSocket connection (see websocket.ts for the transport).
 *
 * Gathered writes: the first frame queued in an event-loop turn corks the connection's socket
 * (`req.socket` of the upgrade request, the socket `ws` writes to) and a `process.nextTick` uncorks
 * it, so the frames of the turn (a commit batch's lifecycle events and responses) leave together,
 * in `writev`s of about `MAX_CORKED_BYTES` (16 KiB, ~60 lifecycle events), instead of one write
 * each. nextTick, not setImmediate: the frames leave as soon as the callback that produced them
 * returns (a commit batch runs in a setImmediate callback; a setImmediate queued from there would
 * hold its responses for a whole loop iteration, behind the next poll phase's input).
 *
 * Why 16 KiB, and why only a socket with nothing pending is corked: a `writev` the kernel takes in
 * part stays counted whole in `bufferedAmount` until its rest is written. The first re-land (one
 * `writev` per turn, whatever its size) hung bench s4: with 500 broadcast clients the kernel took
 * ~215 KB of each ~270 KB turn, ~270 KB per connection was counted, the outbound budget cut ~180
 * clients as slow consumers and their commands were never answered. With the cap, a buffer looks
 * at most `MAX_CORKED_BYTES` (plus the frame that crossed it) larger than without corking; once a
 * write is pending, frames are not corked: Node queues them and hands them over in one `writev`
 * when the pending write completes, as it does without corking.
 *
 * Slow consumers: events are dropped while `bufferedAmount > maxOutboundBytes`, and one
 * `events_dropped` frame follows once it falls back under the bound; responses are never dropped;
 * above 4 × maxOutboundBytes the socket is closed with 1008 "slow consumer". Every send is also
 * reported to the transport's shared OutboundBudget (`maxOutboundBytesTotal`), which cuts the
 * largest buffer the same way when the sum over all connections is too large. Each of these
 * bounds is judged as without corking: a buffer that looks over a bound while frames of this turn
 * are corked is first handed to the socket, and the bound applies to what it could not take.
 */
import type { Duplex } from "node:stream";
import { WebSocket } from "ws";
import type { Logger } from "../observability/logger.js";
import type { Connection, FrameKind } from "../protocol/connection.js";
import type { BudgetMember, OutboundBudget } from "./outbound-budget.js";
import { textFrame } from "./ws-frame.js";

/** close code for a policy violation (slow consumer) */
export const CLOSE_POLICY = 1008;
/** poll period while waiting for an over-full socket to fall back under the bound */
const DRAIN_POLL_MS = 25;
/** how long a closing handshake may take before the socket is terminated */
export const CLOSE_TIMEOUT_MS = 2_000;
/** corked bytes at which the cork is released mid-turn (a `writev` taken in part looks at most this much larger) */
export const MAX_CORKED_BYTES = 16 * 1024;

/** What a connection is built from besides its socket: its identity and the transport's bounds. */
export interface WsConnectionOptions {
  id: string;
  maxOutboundBytes: number;
  budget: OutboundBudget<WsConnection>;
  log: Logger;
  actor: string;
  roles: readonly string[];
}

function endTurn(conn: WsConnection): void {
  conn.endTurn();
}

export class WsConnection implements Connection, BudgetMember {
  readonly transport = "websocket" as const;
  readonly id: string;
  readonly actor: string;
  readonly roles: readonly string[];
  /** answered the last ping */
  alive = true;
  private closing = false;
  private dropped = 0;
  /** this connection holds one cork on the socket (frames of the current turn are queued behind it) */
  private corked = false;
  /** the end-of-turn release is scheduled */
  private turnArmed = false;
  private drainTimer: NodeJS.Timeout | null = null;
  private killTimer: NodeJS.Timeout | null = null;
  private readonly maxOutboundBytes: number;
  private readonly budget: OutboundBudget<WsConnection>;
  private readonly log: Logger;

  /** `socket`: the upgrade request's `req.socket`, the one `ws` writes this connection's frames to */
  constructor(
    readonly ws: WebSocket,
    private readonly socket: Duplex,
    o: WsConnectionOptions,
  ) {
    this.id = o.id;
    this.actor = o.actor;
    this.roles = o.roles;
    this.maxOutboundBytes = o.maxOutboundBytes;
    this.budget = o.budget;
    this.log = o.log;
  }

  get closed(): boolean {
    return this.closing || this.ws.readyState !== WebSocket.OPEN;
  }

  send(frame: string, kind: FrameKind): boolean {
    if (this.closed) return false;
    if (kind === "event" && (this.dropped > 0 || this.over(this.maxOutboundBytes))) {
      // once dropping, keep dropping until the notice goes out, so the client sees one clean gap
      this.dropped++;
      this.armDrainWatch();
      return false;
    }
    this.write(frame);
    if (this.over(4 * this.maxOutboundBytes)) {
      this.log.warn({ conn: this.id, bufferedAmount: this.ws.bufferedAmount }, "closing slow consumer");
      this.cut("slow consumer");
    } else this.budget.report(this, this.ws.bufferedAmount);
    return true;
  }

  /** Bytes not yet written to the peer (frames corked in this turn are handed to the socket first). */
  bufferedBytes(): number {
    this.release();
    return this.ws.bufferedAmount;
  }

  /** the turn's nextTick: hand over what is still corked */
  endTurn(): void {
    this.turnArmed = false;
    this.release();
  }

  /** Hand the frames corked in this turn to the socket now (end of turn, a bound, a close). */
  release(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }

  /** close with 1008 (slow consumer rule; also called by the outbound budget) */
  cut(reason: string): void {
    this.close(CLOSE_POLICY, reason);
  }

  close(code?: number, reason?: string): void {
    if (this.closing) return;
    this.closing = true;
    // frames queued before the close are written before it, as they were without corking
    this.release();
    this.budget.remove(this);
    this.stopDrainWatch();
    if (this.ws.readyState === WebSocket.CLOSED) return;
    try {
      this.ws.close(code, reason);
    } catch (err) {
      this.log.debug({ err, conn: this.id }, "ws.close failed; terminating");
      this.ws.terminate();
      return;
    }
    // a peer that does not read will never complete the closing handshake
    this.killTimer = setTimeout(() => this.ws.terminate(), CLOSE_TIMEOUT_MS);
    this.killTimer.unref();
  }

  /** the socket is gone: release timers */
  disposed(): void {
    this.closing = true;
    this.release();
    this.budget.remove(this);
    this.stopDrainWatch();
    if (this.killTimer) clearTimeout(this.killTimer);
    this.killTimer = null;
  }

  /** Is the buffer over `limit`, judged on what the socket could not take (corked frames released first)? */
  private over(limit: number): boolean {
    if (this.ws.bufferedAmount <= limit) return false;
    this.release();
    return this.ws.bufferedAmount > limit;
  }

  private write(frame: string): void {
    // cork only while nothing waits for the kernel (else Node already gathers the frames)
    if (!this.corked && this.socket.writableLength === 0) {
      this.corked = true;
      this.socket.cork();
      if (!this.turnArmed) {
        this.turnArmed = true;
        process.nextTick(endTurn, this);
      }
    }
    // the socket ws writes to; ws's own sender writes synchronously (no deflate), so frames never interleave
    this.socket.write(textFrame(frame));
    if (this.corked && this.socket.writableLength >= MAX_CORKED_BYTES) this.release();
  }

  private armDrainWatch(): void {
    if (this.drainTimer) return;
    this.drainTimer = setTimeout(() => {
      this.drainTimer = null;
      if (this.closed || this.dropped === 0) return;
      if (this.over(this.maxOutboundBytes)) return this.armDrainWatch();
      const count = this.dropped;
      this.dropped = 0;
      this.write(JSON.stringify({ type: "events_dropped", data: { count } }));
      this.log.warn({ conn: this.id, count }, "events dropped for a slow consumer");
    }, DRAIN_POLL_MS);
    this.drainTimer.unref();
  }

  private stopDrainWatch(): void {
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.drainTimer = null;
  }
}
