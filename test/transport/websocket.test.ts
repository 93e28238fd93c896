import { once } from "node:events";
import { request } from "node:http";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import type { Connection, ConnectionHandler } from "../../src/protocol/connection.js";
import { createWebSocketTransport, type WebSocketTransport } from "../../src/transport/websocket.js";

const logger = pino({ level: "silent" });

interface Echo extends ConnectionHandler {
  opened: Connection[];
  frames: string[];
  oversize: number[];
  invalid: string[];
  closedConns: Connection[];
  closeEvents: Promise<Connection>[];
}

/** echoes each frame back as a response; reports oversize as a response too */
function echoHandler(): Echo {
  let closeWaiters: Array<(c: Connection) => void> = [];
  const h: Echo = {
    opened: [],
    frames: [],
    oversize: [],
    invalid: [],
    closedConns: [],
    closeEvents: [],
    onOpen(conn) {
      h.opened.push(conn);
      h.closeEvents.push(new Promise((resolve) => closeWaiters.push((c) => c === conn && resolve(c))));
      conn.send(JSON.stringify({ type: "server_ready", data: { id: conn.id } }), "event");
    },
    onFrame(conn, frame) {
      h.frames.push(frame);
      conn.send(JSON.stringify({ type: "response", echo: frame }), "response");
    },
    onOversize(conn, bytes) {
      h.oversize.push(bytes);
      conn.send(JSON.stringify({ type: "response", code: "payload_too_large", bytes }), "response");
    },
    onInvalidUtf8(conn, lossy) {
      h.invalid.push(lossy);
      conn.send(JSON.stringify({ type: "response", code: "invalid_utf8", lossy }), "response");
    },
    onClose(conn) {
      h.closedConns.push(conn);
      for (const w of closeWaiters) w(conn);
    },
  };
  return h;
}

/** a client that queues every text message so tests can await the next one */
class TestClient {
  readonly messages: Array<Record<string, unknown>> = [];
  private waiters: Array<(m: Record<string, unknown>) => void> = [];
  constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const m = JSON.parse(data.toString()) as Record<string, unknown>;
      const w = this.waiters.shift();
      if (w) w(m);
      else this.messages.push(m);
    });
  }
  static async connect(url: string, opts: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<TestClient> {
    const ws = new WebSocket(url, opts);
    const c = new TestClient(ws);
    await once(ws, "open");
    return c;
  }
  next(): Promise<Record<string, unknown>> {
    const m = this.messages.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  closed(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve({ code: -1, reason: "" });
    return once(this.ws, "close").then(([code, reason]) => ({ code: code as number, reason: String(reason) }));
  }
}

let transport: WebSocketTransport | null = null;
const clients: WebSocket[] = [];

afterEach(async () => {
  for (const ws of clients.splice(0)) ws.terminate();
  await transport?.close();
  transport = null;
});

async function start(overrides: Partial<Parameters<typeof createWebSocketTransport>[0]> = {}) {
  const handler = echoHandler();
  transport = await createWebSocketTransport({
    host: "127.0.0.1",
    port: 0,
    path: "/",
    maxPayload: 64 * 1024,
    maxFrameBytes: 1024,
    heartbeatIntervalMs: 60_000,
    maxOutboundBytes: 1 << 20,
    handler,
    logger,
    ...overrides,
  });
  const url = `ws://127.0.0.1:${transport.address.port}${overrides.path ?? "/"}`;
  const connect = async (opts: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<TestClient> => {
    const c = await TestClient.connect(url, opts);
    clients.push(c.ws);
    return c;
  };
  return { handler, transport, url, connect };
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("websocket transport", () => {
  it("listens on an ephemeral port, numbers connections, and delivers frames to onFrame", async () => {
    const { handler, transport: t, connect } = await start();
    expect(t.address.host).toBe("127.0.0.1");
    expect(t.address.port).toBeGreaterThan(0);
    const a = await connect();
    const b = await connect();
    expect(await a.next()).toMatchObject({ type: "server_ready", data: { id: "ws-1" } });
    expect(await b.next()).toMatchObject({ type: "server_ready", data: { id: "ws-2" } });
    expect(handler.opened.map((c) => [c.id, c.transport, c.actor, c.roles])).toEqual([
      ["ws-1", "websocket", "local", []],
      ["ws-2", "websocket", "local", []],
    ]);
    expect(t.connections().map((c) => c.id).sort()).toEqual(["ws-1", "ws-2"]);

    a.ws.send('{"type":"health_check","note":"é"}');
    expect(await a.next()).toEqual({ type: "response", echo: '{"type":"health_check","note":"é"}' });
    expect(handler.frames).toEqual(['{"type":"health_check","note":"é"}']);
  });

  it("hands a frame over maxFrameBytes (but under maxPayload) to onOversize and keeps the socket open", async () => {
    const { handler, connect } = await start({ maxFrameBytes: 100, maxPayload: 10_000 });
    const c = await connect();
    await c.next();
    c.ws.send("x".repeat(5000));
    expect(await c.next()).toEqual({ type: "response", code: "payload_too_large", bytes: 5000 });
    expect(handler.oversize).toEqual([5000]);
    expect(handler.frames).toEqual([]);
    c.ws.send('{"still":"open"}');
    expect(await c.next()).toEqual({ type: "response", echo: '{"still":"open"}' });
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
  });

  it("closes the socket with 1009 for a frame above maxPayload, and calls onClose once", async () => {
    const { handler, connect } = await start({ maxFrameBytes: 100, maxPayload: 1000 });
    const c = await connect();
    await c.next();
    const closed = c.closed();
    c.ws.send("y".repeat(5000));
    expect((await closed).code).toBe(1009);
    const conn = await handler.closeEvents[0]!;
    expect(conn.closed).toBe(true);
    expect(handler.closedConns).toHaveLength(1);
    expect(handler.oversize).toEqual([]);
  });

  it("terminates a peer that does not answer pings", async () => {
    const { handler, connect } = await start({ heartbeatIntervalMs: 50 });
    const silent = await connect({ autoPong: false });
    const healthy = await connect();
    await silent.next();
    await healthy.next();
    const closed = await silent.closed();
    // terminate() drops the TCP connection without a close frame
    expect(closed.code).toBe(1006);
    expect((await handler.closeEvents[0]!).id).toBe("ws-1");
    expect(healthy.ws.readyState).toBe(WebSocket.OPEN);
    healthy.ws.send('{"alive":true}');
    expect(await healthy.next()).toEqual({ type: "response", echo: '{"alive":true}' });
  });

  it("answers GET /healthz with 200 {ok:true} and other plain HTTP requests with 426", async () => {
    const { transport: t } = await start();
    const health = await httpGet(t.address.port, "/healthz");
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ ok: true });
    const other = await httpGet(t.address.port, "/");
    expect(other.status).toBe(426);
  });

  it("only upgrades on the configured path", async () => {
    const { transport: t } = await start({ path: "/ws" });
    const good = await TestClient.connect(`ws://127.0.0.1:${t.address.port}/ws`);
    clients.push(good.ws);
    expect(await good.next()).toMatchObject({ type: "server_ready" });
    const bad = new WebSocket(`ws://127.0.0.1:${t.address.port}/other`);
    clients.push(bad);
    const [err] = (await once(bad, "error")) as [Error];
    expect(err.message).toMatch(/400/);
  });

  it("drops events (never responses) for a slow consumer and tells it how many once it catches up", async () => {
    const { handler, connect } = await start({ maxOutboundBytes: 64 * 1024 });
    const c = await connect();
    await c.next();
    const conn = handler.opened[0]!;
    // stop reading on the client side so the server-side buffer fills up
    const sock = (c.ws as unknown as { _socket: import("node:net").Socket })._socket;
    sock.pause();
    const big = JSON.stringify({ type: "evt", pad: "e".repeat(16 * 1024) });
    let dropped = 0;
    let sent = 0;
    for (let i = 0; i < 2000 && dropped === 0; i++) (conn.send(big, "event") ? sent++ : dropped++);
    expect(dropped).toBe(1);
    expect(conn.bufferedBytes()).toBeGreaterThan(64 * 1024);
    for (let i = 0; i < 3; i++) if (!conn.send(big, "event")) dropped++;
    expect(dropped).toBe(4);
    expect(conn.send(JSON.stringify({ type: "response", id: "r1" }), "response")).toBe(true);
    sock.resume();
    const seen: Array<Record<string, unknown>> = [];
    for (;;) {
      const m = await c.next();
      seen.push(m);
      if (m.type === "events_dropped") break;
    }
    expect(seen.filter((m) => m.type === "evt")).toHaveLength(sent);
    expect(seen.filter((m) => m.type === "response").map((m) => m.id)).toEqual(["r1"]);
    expect(seen.at(-1)).toEqual({ type: "events_dropped", data: { count: 4 } });
    expect(conn.send(big, "event")).toBe(true);
  });

  it("closes a consumer whose buffer passes 4 × maxOutboundBytes with 1008 slow consumer", async () => {
    const { handler, connect } = await start({ maxOutboundBytes: 16 * 1024 });
    const c = await connect();
    await c.next();
    const conn = handler.opened[0]!;
    const sock = (c.ws as unknown as { _socket: import("node:net").Socket })._socket;
    sock.pause();
    const closed = c.closed();
    const big = JSON.stringify({ type: "response", pad: "r".repeat(32 * 1024) });
    for (let i = 0; i < 1000 && !conn.closed; i++) expect(conn.send(big, "response")).toBe(true);
    expect(conn.closed).toBe(true);
    sock.resume();
    expect(await closed).toEqual({ code: 1008, reason: "slow consumer" });
    await handler.closeEvents[0];
  });

  it("close() closes every socket with 1001, calls onClose for each, and stops listening", async () => {
    const { handler, transport: t, connect, url } = await start();
    const a = await connect();
    const b = await connect();
    await a.next();
    await b.next();
    const closedA = a.closed();
    const closedB = b.closed();
    await t.close();
    transport = null;
    expect((await closedA).code).toBe(1001);
    expect((await closedB).code).toBe(1001);
    expect(handler.closedConns.map((c) => c.id).sort()).toEqual(["ws-1", "ws-2"]);
    const late = new WebSocket(url);
    clients.push(late);
    const [err] = (await once(late, "error")) as [NodeJS.ErrnoException];
    expect(err.code).toBe("ECONNREFUSED");
  });

  /** the HTTP status an upgrade gets: 101 when it opens (the socket is kept for the test's cleanup) */
  function upgradeStatus(url: string, opts: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<number> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, opts);
      clients.push(ws);
      ws.once("open", () => resolve(101));
      ws.once("unexpected-response", (req, res) => {
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      ws.once("error", reject);
    });
  }

  it("#15.1 refuses an upgrade whose Origin is not allowed (403); loopback origins of its port, configured origins and no Origin open", async () => {
    const { url, transport: t, handler } = await start({ allowedOrigins: ["https://app.example"] });
    const port = t.address.port;
    expect(await upgradeStatus(url, { origin: "https://evil.example" })).toBe(403);
    expect(await upgradeStatus(url, { origin: `http://127.0.0.1:${port + 1}` })).toBe(403);
    expect(await upgradeStatus(url, { origin: "null" })).toBe(403);
    expect(await upgradeStatus(url, { headers: { origin: "" } })).toBe(403);
    expect(handler.opened).toHaveLength(0);
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`, "https://APP.example:443", undefined]) {
      expect(await upgradeStatus(url, origin === undefined ? {} : { origin }), String(origin)).toBe(101);
    }
    expect(handler.opened).toHaveLength(5);
  });

  it("#15.1 allowedOrigins '*' opens to any origin", async () => {
    const { url } = await start({ allowedOrigins: ["*"] });
    expect(await upgradeStatus(url, { origin: "https://evil.example" })).toBe(101);
  });

  it("#15.14 refuses upgrades beyond maxConnections with 503 until a socket closes", async () => {
    const { url, handler, connect } = await start({ maxConnections: 2 });
    const a = await connect();
    await connect();
    expect(await upgradeStatus(url)).toBe(503);
    expect(handler.opened).toHaveLength(2);
    a.ws.close();
    await handler.closeEvents[0];
    expect(await upgradeStatus(url)).toBe(101);
  });

  it("#15.14 cuts the connection with the largest buffer when all buffers together pass maxOutboundBytesTotal", async () => {
    // the per-connection rule (4 × 1 MiB) never fires here: the total budget is 256 KiB
    const { handler, connect } = await start({ maxOutboundBytes: 1 << 20, maxOutboundBytesTotal: 256 * 1024 });
    const a = await connect();
    const b = await connect();
    await a.next();
    await b.next();
    const [connA, connB] = handler.opened as [Connection, Connection];
    const pause = (c: TestClient): import("node:net").Socket => {
      const sock = (c.ws as unknown as { _socket: import("node:net").Socket })._socket;
      sock.pause();
      return sock;
    };
    const sockA = pause(a);
    const sockB = pause(b);
    const frame = (n: number): string => JSON.stringify({ type: "response", n, pad: "r".repeat(8 * 1024) });
    // B holds a buffer well under the budget (once the kernel's socket buffers are full)
    let sentB = 0;
    while (connB.bufferedBytes() < 96 * 1024 && sentB < 10_000) connB.send(frame(sentB++), "response");
    expect(connB.bufferedBytes()).toBeGreaterThanOrEqual(96 * 1024);
    expect(connB.closed).toBe(false);
    // A grows until the sum passes the budget: A is the largest, so A is cut, not B
    const closedA = a.closed();
    for (let i = 0; i < 10_000 && !connA.closed; i++) connA.send(frame(i), "response");
    expect(connA.closed).toBe(true);
    expect(connB.closed).toBe(false);
    sockA.resume();
    expect(await closedA).toEqual({ code: 1008, reason: "slow consumer" });
    // B reads on and gets every frame
    sockB.resume();
    for (let n = 0; n < sentB; n++) expect(await b.next()).toMatchObject({ n });
    b.ws.send('{"still":"open"}');
    expect(await b.next()).toEqual({ type: "response", echo: '{"still":"open"}' });
  });

  it("#15.11 hands a text or binary frame that is not valid UTF-8 to onInvalidUtf8 and keeps the socket open", async () => {
    const { handler, connect } = await start();
    const c = await connect();
    await c.next();
    c.ws.send(Buffer.from([0x7b, 0xff, 0x7d]), { binary: false });
    expect(await c.next()).toEqual({ type: "response", code: "invalid_utf8", lossy: "{\ufffd}" });
    c.ws.send(Buffer.from([0x7b, 0xed, 0xa0, 0x80, 0x7d]), { binary: true });
    expect(await c.next()).toEqual({ type: "response", code: "invalid_utf8", lossy: "{\ufffd\ufffd\ufffd}" });
    c.ws.send(Buffer.from('{"ok":"é"}'), { binary: true });
    expect(await c.next()).toEqual({ type: "response", echo: '{"ok":"é"}' });
    expect(handler.frames).toEqual(['{"ok":"é"}']);
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
  });
});
