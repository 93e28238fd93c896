/**
 * The stdio transport: one JSON frame per line on `input`, one per line on `output`.
 *
 * There is exactly one connection (`stdio`). Input EOF calls `onEnd`; the connection stays able to
 * send so that in-flight commands can still be answered while the server drains. Output errors
 * (EPIPE when the reader went away) are logged once and turn the connection's sends into no-ops.
 *
 * Backpressure: while more than `maxOutboundBytes` are queued on `output`, events are dropped (one
 * `events_dropped` notice follows) and `input` is paused, so a reader that stops reading stops the
 * server from reading more commands; both resume once the queue falls back under the bound. Memory
 * stays bounded by the bound plus the answers to the commands already read.
 */
import type { Readable, Writable } from "node:stream";
import type { Logger } from "../observability/logger.js";
import type { Identity } from "../auth/identity.js";
import type { Connection, ConnectionHandler, FrameKind } from "../protocol/connection.js";
import { LineSplitter } from "./line-splitter.js";

export interface StdioTransportOptions {
  input: Readable;
  output: Writable;
  /** longest accepted line in bytes (limits.maxFrameBytes) */
  maxLineBytes: number;
  /** events are dropped, and input is paused, while more than this many bytes are queued on `output` */
  maxOutboundBytes: number;
  handler: ConnectionHandler;
  logger: Logger;
  /** input reached EOF (or failed): no more frames will arrive */
  onEnd: () => void;
  /** who the connection acts as (config localActor / localRoles); default `local`, no roles */
  identity?: Identity;
}

export interface StdioTransport {
  connection: Connection;
  /** stop reading input and mark the connection closed (idempotent); does not end `output` */
  close(): void;
}

/** poll period while waiting for an over-full output to fall back under the bound */
const DRAIN_POLL_MS = 25;

export function createStdioTransport(options: StdioTransportOptions): StdioTransport {
  const { input, output, maxOutboundBytes, handler, logger } = options;
  const log = logger.child({ transport: "stdio" });

  let outputBroken = false;
  let closed = false;
  let ended = false;
  let dropped = 0;
  let inputPaused = false;
  let drainWatch: NodeJS.Timeout | null = null;

  const markBroken = (err?: unknown): void => {
    if (outputBroken) return;
    outputBroken = true;
    stopDrainWatch();
    // nobody reads our answers any more: keep reading input, so its EOF still ends the server
    resumeInput();
    if (err) log.warn({ err }, "stdout failed; further frames are discarded");
    else log.warn("stdout is no longer writable; further frames are discarded");
  };

  const outputWritable = (): boolean => {
    if (outputBroken) return false;
    if (output.destroyed || output.writableEnded || output.writable === false) {
      markBroken();
      return false;
    }
    return true;
  };

  const write = (frame: string): boolean => {
    if (!outputWritable()) return false;
    try {
      output.write(frame + "\n");
    } catch (err) {
      markBroken(err);
      return false;
    }
    if (output.writableLength > maxOutboundBytes) pauseInput();
    return true;
  };

  function pauseInput(): void {
    if (inputPaused || closed || ended) return;
    inputPaused = true;
    input.pause();
    log.debug({ queuedBytes: output.writableLength, maxOutboundBytes }, "stdout is over its bound: input paused until the reader catches up");
    armDrainWatch();
  }

  function resumeInput(): void {
    if (!inputPaused) return;
    inputPaused = false;
    if (closed || ended) return;
    input.resume();
    log.debug({ queuedBytes: output.writableLength }, "stdout is back under its bound: input resumed");
  }

  const stopDrainWatch = (): void => {
    if (drainWatch) clearTimeout(drainWatch);
    drainWatch = null;
    output.removeListener("drain", checkDrained);
  };

  function checkDrained(): void {
    drainWatch = null;
    output.removeListener("drain", checkDrained);
    if ((dropped === 0 && !inputPaused) || !outputWritable()) return;
    if (output.writableLength > maxOutboundBytes) {
      armDrainWatch();
      return;
    }
    resumeInput();
    if (dropped === 0) return;
    const count = dropped;
    dropped = 0;
    write(JSON.stringify({ type: "events_dropped", data: { count } }));
    log.warn({ count }, "events dropped for a slow stdout reader");
  }

  const armDrainWatch = (): void => {
    if (drainWatch) return;
    // 'drain' fires when the buffer empties after a write returned false; the timer covers bounds
    // below the stream's highWaterMark, where no 'drain' is ever emitted.
    output.once("drain", checkDrained);
    drainWatch = setTimeout(checkDrained, DRAIN_POLL_MS);
    drainWatch.unref();
  };

  const connection: Connection = {
    id: "stdio",
    transport: "stdio",
    actor: options.identity?.actor ?? "local",
    roles: [...(options.identity?.roles ?? [])],
    get closed(): boolean {
      return closed || outputBroken;
    },
    send(frame: string, kind: FrameKind): boolean {
      if (closed || !outputWritable()) return false;
      if (kind === "event" && (dropped > 0 || output.writableLength > maxOutboundBytes)) {
        // once dropping, keep dropping until the notice goes out, so the client sees a clean gap
        dropped++;
        armDrainWatch();
        return false;
      }
      return write(frame);
    },
    bufferedBytes(): number {
      return outputBroken ? 0 : output.writableLength;
    },
    close(): void {
      closeTransport();
    },
  };

  const splitter = new LineSplitter({
    maxLineBytes: options.maxLineBytes,
    onLine: (line) => {
      if (closed) return;
      try {
        handler.onFrame(connection, line);
      } catch (err) {
        log.error({ err }, "frame handler threw");
      }
    },
    onOversize: (bytes) => {
      if (closed) return;
      try {
        handler.onOversize(connection, bytes);
      } catch (err) {
        log.error({ err }, "oversize handler threw");
      }
    },
    onInvalidUtf8: (lossy) => {
      if (closed) return;
      try {
        handler.onInvalidUtf8(connection, lossy);
      } catch (err) {
        log.error({ err }, "invalid UTF-8 handler threw");
      }
    },
  });

  const onData = (chunk: Buffer | string): void => {
    splitter.push(chunk);
  };
  const finishInput = (): void => {
    if (ended) return;
    ended = true;
    input.removeListener("data", onData);
    splitter.end();
    try {
      options.onEnd();
    } catch (err) {
      log.error({ err }, "onEnd threw");
    }
  };
  const onInputError = (err: Error): void => {
    log.warn({ err }, "stdin failed; treating it as end of input");
    finishInput();
  };

  function closeTransport(): void {
    if (closed) return;
    closed = true;
    stopDrainWatch();
    input.removeListener("data", onData);
    input.removeListener("end", finishInput);
    input.removeListener("close", finishInput);
    input.pause();
    try {
      handler.onClose(connection);
    } catch (err) {
      log.error({ err }, "close handler threw");
    }
  }

  output.on("error", (err) => markBroken(err));
  // keep a listener after close too: a late EPIPE must never become an uncaught exception
  input.on("error", onInputError);

  handler.onOpen(connection);

  input.on("data", onData);
  input.once("end", finishInput);
  input.once("close", finishInput);

  return { connection, close: closeTransport };
}
