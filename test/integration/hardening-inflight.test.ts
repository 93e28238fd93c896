/**
 * Issue #15.14 (the in-flight part): every command, reads and operator commands too, counts toward
 * `maxInFlightPerConnection`; before #14 reads were answered outside the engine and never counted.
 * Real server over WebSocket and stdio.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Frame } from "../helpers/ws-client.js";
import { startTransport, type TestClient, type TestServer, type TransportKind } from "../helpers/transports.js";

describe.each<TransportKind>(["websocket", "stdio"])("over %s", (kind) => {
  let server: TestServer;
  let client: TestClient;

  beforeAll(async () => {
    server = await startTransport(kind, { args: ["--max-in-flight-per-connection", "2", "--shutdown-grace-ms", "300"] });
    client = server.client;
  });

  afterAll(async () => {
    expect((await server?.stop())?.code).toBe(0);
  });

  it("#15.14 reads count toward maxInFlightPerConnection: with two commands held, a health_check is refused busy", async () => {
    await client.request({ type: "create_session", sessionId: `inflight-${kind}` });
    const from = client.frames.length;
    // two writes held in their lane: the connection's two credits are taken
    client.sendRaw({ type: "hold", id: `h1-${kind}`, sessionId: `inflight-${kind}`, key: `k-${kind}` });
    client.sendRaw({ type: "set", id: `h2-${kind}`, sessionId: `inflight-${kind}`, path: "/a", value: 1 });
    await client.waitFor((f: Frame) => f.type === "command_accepted" && (f.data as { commandId: string }).commandId === `h2-${kind}`, undefined, from);
    for (const type of ["health_check", "get_metrics", "list_sessions"]) {
      const r = await client.request({ type, id: `r-${type}-${kind}` });
      expect(r, type).toMatchObject({ success: false, code: "busy" });
      expect(r.error).toMatch(/maxInFlightPerConnection/);
    }
  });
});
