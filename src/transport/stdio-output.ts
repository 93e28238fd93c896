/**
 * The stdio transport's output side: frames written to `output`, and its backpressure. While more
 * than `maxOutboundBytes` are queued, events are dropped (one `events_dropped` notice follows) and
 * `input` is paused; both resume once the queue falls back under the bound. An output error
 * (EPIPE when the reader went away) is logged once and turns every later write into a no-op.
 */
import type { Readable, Writable } from "node:stream";
import type { Logger } from "../observability/logger.js";
import type { FrameKind } from "../protocol/connection.js";

/** poll period while waiting for an over-full output to fall back under the bound */
const DRAIN_POLL_MS = 25;

export interface StdioOutputOptions {
  input: Readable;
  output: Writable;
  maxOutboundBytes: number;
  log: Logger;
  /** false once the transport is closed or its input ended: input is then never paused or resumed */
  reading(): boolean;
}

export class StdioOutput {
  private broken = false;
  private dropped = 0;
  private inputPaused = false;
  private drainWatch: NodeJS.Timeout | null = null;
  private readonly input: Readable;
  private readonly output: Writable;
  private readonly max: number;
  private readonly log: Logger;

  constructor(private readonly o: StdioOutputOptions) {
    this.input = o.input;
    this.output = o.output;
    this.max = o.maxOutboundBytes;
    this.log = o.log;
  }

  /** output failed or is no longer writable: frames are discarded */
  get isBroken(): boolean {
    return this.broken;
  }

  /** bytes queued on output (0 once it is broken) */
  queuedBytes(): number {
    return this.broken ? 0 : this.output.writableLength;
  }

  markBroken(err?: unknown): void {
    if (this.broken) return;
    this.broken = true;
    this.stopDrainWatch();
    // nobody reads our answers any more: keep reading input, so its EOF still ends the server
    this.resumeInput();
    if (err) this.log.warn({ err }, "stdout failed; further frames are discarded");
    else this.log.warn("stdout is no longer writable; further frames are discarded");
  }

  writable(): boolean {
    if (this.broken) return false;
    const output = this.output;
    if (output.destroyed || output.writableEnded || output.writable === false) {
      this.markBroken();
      return false;
    }
    return true;
  }

  /** A connection's frame: events are dropped while the output is over its bound. */
  send(frame: string, kind: FrameKind): boolean {
    if (!this.writable()) return false;
    if (kind === "event" && (this.dropped > 0 || this.output.writableLength > this.max)) {
      // once dropping, keep dropping until the notice goes out, so the client sees a clean gap
      this.dropped++;
      this.armDrainWatch();
      return false;
    }
    return this.write(frame);
  }

  private write(frame: string): boolean {
    if (!this.writable()) return false;
    try {
      this.output.write(frame + "\n");
    } catch (err) {
      this.markBroken(err);
      return false;
    }
    if (this.output.writableLength > this.max) this.pauseInput();
    return true;
  }

  private pauseInput(): void {
    if (this.inputPaused || !this.o.reading()) return;
    this.inputPaused = true;
    this.input.pause();
    this.log.debug({ queuedBytes: this.output.writableLength, maxOutboundBytes: this.max }, "stdout is over its bound: input paused until the reader catches up");
    this.armDrainWatch();
  }

  private resumeInput(): void {
    if (!this.inputPaused) return;
    this.inputPaused = false;
    if (!this.o.reading()) return;
    this.input.resume();
    this.log.debug({ queuedBytes: this.output.writableLength }, "stdout is back under its bound: input resumed");
  }

  stopDrainWatch(): void {
    if (this.drainWatch) clearTimeout(this.drainWatch);
    this.drainWatch = null;
    this.output.removeListener("drain", this.checkDrained);
  }

  private readonly checkDrained = (): void => {
    this.drainWatch = null;
    this.output.removeListener("drain", this.checkDrained);
    if ((this.dropped === 0 && !this.inputPaused) || !this.writable()) return;
    if (this.output.writableLength > this.max) {
      this.armDrainWatch();
      return;
    }
    this.resumeInput();
    if (this.dropped === 0) return;
    const count = this.dropped;
    this.dropped = 0;
    this.write(JSON.stringify({ type: "events_dropped", data: { count } }));
    this.log.warn({ count }, "events dropped for a slow stdout reader");
  };

  private armDrainWatch(): void {
    if (this.drainWatch) return;
    // 'drain' fires when the buffer empties after a write returned false; the timer covers bounds
    // below the stream's highWaterMark, where no 'drain' is ever emitted.
    this.output.once("drain", this.checkDrained);
    this.drainWatch = setTimeout(this.checkDrained, DRAIN_POLL_MS);
    this.drainWatch.unref();
  }
}
