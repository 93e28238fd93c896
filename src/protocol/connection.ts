/**
 * The one connection abstraction both transports implement. Protocol and engine code only ever
 * see a `Connection`, never a socket or a stream.
 */
export type TransportKind = "websocket" | "stdio";

export type FrameKind = "response" | "event";

export interface Connection {
  readonly id: string;
  readonly transport: TransportKind;
  /**
   * Authenticated actor: the bearer token's actor (tokens file), or the configured
   * `localActor` (default `local`) for stdio and open loopback WebSocket.
   */
  readonly actor: string;
  readonly roles: readonly string[];
  /**
   * Queue one serialized JSON frame. Responses are never dropped. Events may be dropped when the
   * outbound buffer is over its limit (see PROTOCOL.md "Slow consumers"); the transport then tells
   * the client with an `events_dropped` frame once it drains. Returns false if the frame was dropped.
   */
  send(frame: string, kind: FrameKind): boolean;
  /** Bytes queued and not yet written to the peer. */
  bufferedBytes(): number;
  close(code?: number, reason?: string): void;
  readonly closed: boolean;
}

/** What a transport calls into. Implemented by the server composition root. */
export interface ConnectionHandler {
  /** A connection is open; the handler sends `server_ready`. */
  onOpen(conn: Connection): void;
  /** One complete frame (a WebSocket text message or one stdio line, without the line ending). */
  onFrame(conn: Connection, frame: string): void;
  /**
   * A frame whose bytes are not valid UTF-8 (either transport; WebSocket text and binary frames
   * alike). `lossy` is the frame decoded with U+FFFD replacements: never to be executed or echoed
   * where a replacement touched it.
   */
  onInvalidUtf8(conn: Connection, lossy: string): void;
  /** A frame was too large to accept; the transport discarded it. */
  onOversize(conn: Connection, bytes: number): void;
  onClose(conn: Connection): void;
}
