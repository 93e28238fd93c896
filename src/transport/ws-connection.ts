/**
 * One WebSocket connection (see websocket.ts for the transport).
 *
 * Slow consumers: events are dropped while `bufferedAmount > maxOutboundBytes`, and one
 * `events_dropped` frame follows once it falls back under the bound; responses are never dropped;
 * above 4 × maxOutboundBytes the socket is closed with 1008 "slow consumer". Every send is also
 * reported to the transport's shared OutboundBudget (`maxOutboundBytesTotal`), which cuts the
 * largest buffer the same way when the sum over all connections is too large.
 */
import { WebSocket } from "ws";
import type { Logger } from "../observability/logger.js";
import type { Connection, FrameKind } from "../protocol/connection.js";
import type { BudgetMember, OutboundBudget } from "./outbound-budget.js";

/** close code for a policy violation (slow consumer) */
export const CLOSE_POLICY = 1008;
/** poll period while waiting for an over-full socket to fall back under the bound */
const DRAIN_POLL_MS = 25;
/** how long a closing handshake may take before the socket is terminated */
export const CLOSE_TIMEOUT_MS = 2_000;

export class WsConnection implements Connection, BudgetMember {
  readonly transport = "websocket" as const;
  /** answered the last ping */
  alive = true;
  private closing = false;
  private dropped = 0;
  private drainTimer: NodeJS.Timeout | null = null;
  private killTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly id: string,
    readonly ws: WebSocket,
    private readonly maxOutboundBytes: number,
    private readonly budget: OutboundBudget<WsConnection>,
    private readonly log: Logger,
    readonly actor: string,
    readonly roles: readonly string[],
  ) {}

  get closed(): boolean {
    return this.closing || this.ws.readyState !== WebSocket.OPEN;
  }

  send(frame: string, kind: FrameKind): boolean {
    if (this.closed) return false;
    if (kind === "event" && (this.dropped > 0 || this.ws.bufferedAmount > this.maxOutboundBytes)) {
      // once dropping, keep dropping until the notice goes out, so the client sees one clean gap
      this.dropped++;
      this.armDrainWatch();
      return false;
    }
    this.write(frame);
    if (this.ws.bufferedAmount > 4 * this.maxOutboundBytes) {
      this.log.warn({ conn: this.id, bufferedAmount: this.ws.bufferedAmount }, "closing slow consumer");
      this.cut("slow consumer");
    } else this.budget.report(this);
    return true;
  }

  bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  /** close with 1008 (slow consumer rule; also called by the outbound budget) */
  cut(reason: string): void {
    this.close(CLOSE_POLICY, reason);
  }

  close(code?: number, reason?: string): void {
    if (this.closing) return;
    this.closing = true;
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
    this.budget.remove(this);
    this.stopDrainWatch();
    if (this.killTimer) clearTimeout(this.killTimer);
    this.killTimer = null;
  }

  private write(frame: string): void {
    this.ws.send(frame, (err) => {
      if (err) this.log.debug({ err, conn: this.id }, "websocket send failed");
    });
  }

  private armDrainWatch(): void {
    if (this.drainTimer) return;
    this.drainTimer = setTimeout(() => {
      this.drainTimer = null;
      if (this.closed || this.dropped === 0) return;
      if (this.ws.bufferedAmount > this.maxOutboundBytes) return this.armDrainWatch();
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
