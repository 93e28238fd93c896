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
 * stays bounded by the bound plus the answers to the commands already read (stdio-output.ts).
 */
import type { Readable, Writable } from "node:stream";
import type { Logger } from "../observability/logger.js";
import type { Identity } from "../auth/identity.js";
import type { Connection, ConnectionHandler, FrameKind } from "../protocol/connection.js";
import { LineSplitter } from "./line-splitter.js";
import { StdioOutput } from "./stdio-output.js";

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

/** Whether the transport was closed, and whether its input ended. */
interface StdioState {
  closed: boolean;
  ended: boolean;
}

function stdioConnection(options: StdioTransportOptions, st: StdioState, out: StdioOutput, close: () => void): Connection {
  return {
    id: "stdio",
    transport: "stdio",
    actor: options.identity?.actor ?? "local",
    roles: [...(options.identity?.roles ?? [])],
    get closed(): boolean {
      return st.closed || out.isBroken;
    },
    send(frame: string, kind: FrameKind): boolean {
      if (st.closed) return false;
      return out.send(frame, kind);
    },
    bufferedBytes(): number {
      return out.queuedBytes();
    },
    close(): void {
      close();
    },
  };
}

/** Input lines to the handler (none once the transport is closed); a handler that throws is logged. */
function frameSplitter(options: StdioTransportOptions, connection: Connection, st: StdioState, log: Logger): LineSplitter {
  const { handler } = options;
  return new LineSplitter({
    maxLineBytes: options.maxLineBytes,
    onLine: (line) => {
      if (st.closed) return;
      try {
        handler.onFrame(connection, line);
      } catch (err) {
        log.error({ err }, "frame handler threw");
      }
    },
    onOversize: (bytes) => {
      if (st.closed) return;
      try {
        handler.onOversize(connection, bytes);
      } catch (err) {
        log.error({ err }, "oversize handler threw");
      }
    },
    onInvalidUtf8: (lossy) => {
      if (st.closed) return;
      try {
        handler.onInvalidUtf8(connection, lossy);
      } catch (err) {
        log.error({ err }, "invalid UTF-8 handler threw");
      }
    },
  });
}

export function createStdioTransport(options: StdioTransportOptions): StdioTransport {
  const { input, output, maxOutboundBytes, handler, logger } = options;
  const log = logger.child({ transport: "stdio" });
  const st: StdioState = { closed: false, ended: false };
  const out = new StdioOutput({ input, output, maxOutboundBytes, log, reading: () => !st.closed && !st.ended });
  const connection = stdioConnection(options, st, out, () => closeTransport());
  const splitter = frameSplitter(options, connection, st, log);

  const onData = (chunk: Buffer | string): void => {
    splitter.push(chunk);
  };
  const finishInput = (): void => {
    if (st.ended) return;
    st.ended = true;
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
    if (st.closed) return;
    st.closed = true;
    out.stopDrainWatch();
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

  output.on("error", (err) => out.markBroken(err));
  // keep a listener after close too: a late EPIPE must never become an uncaught exception
  input.on("error", onInputError);

  handler.onOpen(connection);

  input.on("data", onData);
  input.once("end", finishInput);
  input.once("close", finishInput);

  return { connection, close: closeTransport };
}
