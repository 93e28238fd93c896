/**
 * The WebSocket transport: one JSON frame per text (or binary) message (`ws` over `http.createServer`).
 *
 * - Frames above `maxFrameBytes` are handed to `onOversize` and the socket stays open; frames above
 *   `maxPayload` (the hard ceiling) are refused by `ws`, which closes the socket with 1009.
 * - A frame that is not valid UTF-8 goes to `onInvalidUtf8` and the socket stays open: ws's own
 *   validation (which would close with 1007 before we could answer) is off, and every frame is
 *   validated here instead (utf8.ts), text and binary alike.
 * - Heartbeat: every `heartbeatIntervalMs` each socket is pinged; one that has not answered the
 *   previous ping is terminated.
 * - Outbound: the frames a connection is sent in one event-loop turn leave together, in `writev`s
 *   of ~16 KiB (ws-connection.ts corks the upgrade request's socket for the turn).
 * - Slow consumers: per connection, see ws-connection.ts; across connections, the
 *   `maxOutboundBytesTotal` budget cuts the largest buffer (outbound-budget.ts).
 * - Upgrades (upgrade-guard.ts): refused with 403 when `Origin` is present and not allowed
 *   (origin.ts), with 503 when `maxConnections` sockets are open.
 * - `GET /healthz` answers 200 `{"ok":true}`; any other plain HTTP request gets 426.
 * - Authentication (`auth`): with a tokens file, `Authorization: Bearer <token>` is checked
 *   at upgrade; a failure completes the handshake and closes with 1008 "unauthorized" (no frame is
 *   sent) and logs an `auth_failed` audit line. The connection's actor/roles come from the token.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocket, WebSocketServer, type RawData } from "ws";
import type { Logger } from "../observability/logger.js";
import { AUTH_CLOSE_CODE, AUTH_CLOSE_REASON, authenticateRequest, type AuthFailure, type WebSocketAuth } from "../auth/bearer.js";
import type { Connection, ConnectionHandler } from "../protocol/connection.js";
import { originPolicy, type OriginPolicy } from "./origin.js";
import { OutboundBudget } from "./outbound-budget.js";
import { upgradeGuard } from "./upgrade-guard.js";
import { decodeFrameBytes } from "./utf8.js";
import { CLOSE_TIMEOUT_MS, WsConnection } from "./ws-connection.js";

export interface WebSocketTransportOptions {
  host: string;
  /** 0 picks a free port; the real one is in the returned `address` */
  port: number;
  path: string;
  /** ws hard ceiling: larger frames close the socket with 1009 */
  maxPayload: number;
  /** larger frames (up to maxPayload) are reported through `onOversize` */
  maxFrameBytes: number;
  /** 0 disables the heartbeat */
  heartbeatIntervalMs: number;
  maxOutboundBytes: number;
  /** budget of outbound bytes over all connections; the largest buffer is cut above it (default: none) */
  maxOutboundBytesTotal?: number;
  /** upgrades beyond this many open sockets are refused with 503 (default: none) */
  maxConnections?: number;
  /**
   * Browser origins allowed besides the loopback origins of the server's own port (output of
   * origin.ts parseAllowedOrigins; `*` allows any). Upgrades without `Origin` are always allowed.
   */
  allowedOrigins?: readonly string[];
  handler: ConnectionHandler;
  logger: Logger;
  /**
   * Authentication at upgrade (src/auth/bearer.ts). Absent: open, every connection is
   * `local` with no roles. A failed check completes the handshake, then closes with 1008.
   */
  auth?: WebSocketAuth;
  /** extra plain-HTTP routes (/metrics, /readyz: src/transport/http-routes.ts); true = handled */
  httpRoutes?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export interface WebSocketTransport {
  address: { host: string; port: number };
  connections(): Connection[];
  /** close every socket (1001), stop listening; resolves when everything is closed */
  close(): Promise<void>;
}

/** close code for "going away" (server shutdown) */
export const CLOSE_GOING_AWAY = 1001;

function rawDataToBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function requestPath(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  return q === -1 ? url : url.slice(0, q);
}

function httpHandler(req: IncomingMessage, res: ServerResponse): void {
  if ((req.method === "GET" || req.method === "HEAD") && requestPath(req) === "/healthz") {
    const body = JSON.stringify({ ok: true });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(req.method === "HEAD" ? undefined : body);
    return;
  }
  const body = "426 Upgrade Required: this is a WebSocket endpoint\n";
  res.writeHead(426, { "content-type": "text/plain", upgrade: "websocket", connection: "Upgrade", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/** Route one socket's events to the handler: frames (size, UTF-8), pong, close; then open it. */
function serveConnection(ws: WebSocket, conn: WsConnection, o: { handler: ConnectionHandler; maxFrameBytes: number; log: Logger; onGone: () => void }): void {
  const { handler, maxFrameBytes, log } = o;
  ws.on("pong", () => {
    conn.alive = true;
  });
  ws.on("error", (err) => {
    // ws closes the socket itself (e.g. 1009 for a frame above maxPayload)
    log.debug({ err, conn: conn.id }, "websocket error");
  });
  ws.on("message", (data, isBinary) => {
    if (conn.closed) return;
    const buf = rawDataToBuffer(data);
    try {
      if (buf.length > maxFrameBytes) return handler.onOversize(conn, buf.length);
      const text = decodeFrameBytes(buf);
      if (text.valid) handler.onFrame(conn, text.text);
      else handler.onInvalidUtf8(conn, text.lossy);
    } catch (err) {
      log.error({ err, conn: conn.id, isBinary }, "frame handler threw");
    }
  });
  ws.once("close", (code, reason) => {
    o.onGone();
    conn.disposed();
    log.debug({ conn: conn.id, code, reason: reason.toString() }, "connection closed");
    try {
      handler.onClose(conn);
    } catch (err) {
      log.error({ err, conn: conn.id }, "close handler threw");
    }
  });
  try {
    handler.onOpen(conn);
  } catch (err) {
    log.error({ err, conn: conn.id }, "open handler threw");
  }
}

/** Ping every open socket each interval; terminate one that missed the previous ping. 0: off. */
function startHeartbeat(live: Map<WebSocket, WsConnection>, intervalMs: number, log: Logger): NodeJS.Timeout | null {
  if (intervalMs <= 0) return null;
  const timer = setInterval(() => {
    for (const [ws, conn] of live) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      if (!conn.alive) {
        log.info({ conn: conn.id }, "peer missed a heartbeat; terminating");
        ws.terminate();
        continue;
      }
      conn.alive = false;
      try {
        ws.ping();
      } catch (err) {
        log.debug({ err, conn: conn.id }, "ping failed");
      }
    }
  }, intervalMs);
  timer.unref();
  return timer;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      server.removeListener("listening", onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.removeListener("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}

/** An upgrade whose bearer token failed: no frame, only a close with 1008 (terminated if the peer never answers it). */
function refuseUnauthenticated(ws: WebSocket, who: { connectionId: string; remoteAddress: string | undefined; reason: AuthFailure }, log: Logger): void {
  const { connectionId, remoteAddress, reason } = who;
  // never log the presented token; the client gets no frame, only the close
  log.warn({ audit: "auth_failed", remoteAddress, reason, connectionId }, "WebSocket authentication failed");
  ws.on("error", (err) => log.debug({ err, conn: connectionId }, "websocket error (unauthenticated)"));
  const kill = setTimeout(() => ws.terminate(), CLOSE_TIMEOUT_MS);
  kill.unref();
  ws.once("close", () => clearTimeout(kill));
  ws.close(AUTH_CLOSE_CODE, AUTH_CLOSE_REASON);
}

/** What a new socket needs: the transport's options, its open sockets, the outbound budget and the next id. */
interface AcceptContext {
  options: WebSocketTransportOptions;
  auth: WebSocketAuth;
  live: Map<WebSocket, WsConnection>;
  budget: OutboundBudget<WsConnection>;
  nextId(): number;
  log: Logger;
}

/** An upgraded socket: authenticate it, then serve it as a connection. */
function acceptSocket(ws: WebSocket, req: IncomingMessage, c: AcceptContext): void {
  const { auth, live, log } = c;
  const connectionId = `ws-${c.nextId()}`;
  const remoteAddress = req.socket.remoteAddress;
  const authn = authenticateRequest(req.headers, auth);
  if (!authn.ok) return refuseUnauthenticated(ws, { connectionId, remoteAddress, reason: authn.reason }, log);
  const { actor, roles } = authn.identity;
  if (auth.tokens) log.info({ audit: "auth_ok", actor, connectionId, remoteAddress }, "WebSocket client authenticated");
  // req.socket is the socket ws writes to: the connection corks it per turn (ws-connection.ts)
  const conn = new WsConnection(ws, req.socket, { id: connectionId, maxOutboundBytes: c.options.maxOutboundBytes, budget: c.budget, log, actor, roles });
  live.set(ws, conn);
  log.debug({ conn: conn.id, remote: req.socket.remoteAddress }, "connection open");
  serveConnection(ws, conn, { handler: c.options.handler, maxFrameBytes: c.options.maxFrameBytes, log, onGone: () => live.delete(ws) });
}

/** The HTTP server (plain routes, then /healthz or 426) and the WebSocket server on it, upgrades guarded. */
function createServers(options: WebSocketTransportOptions, origins: () => OriginPolicy | null, log: Logger): { server: Server; wss: WebSocketServer } {
  const server: Server = createServer((req, res) => {
    if (options.httpRoutes?.(req, res)) return;
    httpHandler(req, res);
  });
  const wss: WebSocketServer = new WebSocketServer({
    server,
    path: options.path,
    maxPayload: options.maxPayload,
    // never negotiated: connections write ready-made uncompressed text frames to the socket (ws-frame.ts)
    perMessageDeflate: false,
    // validated per frame, so a bad frame is answered instead of closing the socket (1007)
    skipUTF8Validation: true,
    verifyClient: upgradeGuard({
      origins,
      maxConnections: options.maxConnections ?? Number.POSITIVE_INFINITY,
      openConnections: (): number => wss.clients.size,
      log,
    }),
  });
  return { server, wss };
}

/** Stop accepting upgrades, close every open socket with 1001, then the HTTP server; resolves when all is closed. */
async function shutDown(server: Server, wss: WebSocketServer, live: Map<WebSocket, WsConnection>): Promise<void> {
  // stop accepting upgrades (ws calls back only once every client socket has closed),
  // then say goodbye to every open socket
  const wssClosed = new Promise<void>((resolve) => wss.close(() => resolve()));
  const sockets = [...live.entries()];
  await Promise.all(
    sockets.map(
      ([ws, conn]) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once("close", () => resolve());
          conn.close(CLOSE_GOING_AWAY, "server shutting down");
        }),
    ),
  );
  await wssClosed;
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function createWebSocketTransport(options: WebSocketTransportOptions): Promise<WebSocketTransport> {
  const log = options.logger.child({ transport: "websocket" });
  const live = new Map<WebSocket, WsConnection>();
  let nextId = 0;
  let closing: Promise<void> | null = null;

  let origins: OriginPolicy | null = null;
  const budget = new OutboundBudget<WsConnection>(options.maxOutboundBytesTotal ?? Number.POSITIVE_INFINITY, (conn, bytes, total) => {
    const fields = { conn: conn.id, bufferedAmount: bytes, totalBuffered: total, maxOutboundBytesTotal: budget.limit };
    log.warn(fields, "closing slow consumer: the outbound bytes of all connections are over maxOutboundBytesTotal");
  });
  const { server, wss } = createServers(options, () => origins, log);

  wss.on("error", (err) => log.error({ err }, "websocket server error"));

  const auth: WebSocketAuth = options.auth ?? { tokens: null, local: { actor: "local", roles: [] } };
  const accept: AcceptContext = { options, auth, live, budget, nextId: () => ++nextId, log };
  wss.on("connection", (ws, req) => acceptSocket(ws, req, accept));

  const heartbeat = startHeartbeat(live, options.heartbeatIntervalMs, log);

  await listen(server, options.port, options.host).catch((err: unknown) => {
    if (heartbeat) clearInterval(heartbeat);
    wss.close();
    throw err;
  });
  server.on("error", (err) => log.error({ err }, "http server error"));

  const port = (server.address() as AddressInfo).port;
  origins = originPolicy(options.allowedOrigins ?? [], port);

  const close = (): Promise<void> => {
    if (closing) return closing;
    if (heartbeat) clearInterval(heartbeat);
    closing = shutDown(server, wss, live);
    return closing;
  };

  return {
    address: { host: options.host, port },
    connections: () => [...live.values()],
    close,
  };
}
