/**
 * Issue #2 acceptance, driven against the real server process, over WebSocket on loopback and over
 * stdio (the same scenarios on both transports): session state commands (`set`, atomic `patch`,
 * create/delete) and session subscriptions.
 */
import { describe, expect, it } from "vitest";
import type { TestClient, TestServer, TransportKind } from "../../helpers/transports.js";
import { data, useCoreServer } from "./helpers.js";

describe.each<TransportKind>(["websocket", "stdio"])("over %s", (kind) => {
let server: TestServer;
let client: TestClient;
const newSession = useCoreServer(kind, (s) => ((server = s), (client = s.client)));


describe("state commands", () => {
  it("patch is atomic: a failing op leaves state and version untouched", async () => {
    const sid = await newSession();
    await client.request({ type: "set", sessionId: sid, path: "", value: { a: 1, list: [1, 2] } });
    const bad = await client.request({
      type: "patch",
      sessionId: sid,
      ops: [
        { op: "replace", path: "/a", value: 2 },
        { op: "add", path: "/list/-", value: 3 },
        { op: "test", path: "/a", value: 999 },
      ],
    });
    expect(bad).toMatchObject({ success: false, code: "patch_failed", sessionVersion: 1 });
    const read = await client.request({ type: "get_state", sessionId: sid });
    expect(read).toMatchObject({ sessionVersion: 1, data: { state: { a: 1, list: [1, 2] } } });
    const good = await client.request({ type: "patch", sessionId: sid, ops: [{ op: "replace", path: "/a", value: 2 }] });
    expect(good).toMatchObject({ success: true, sessionVersion: 2 });
  });

  it("a failing handler changes nothing and reports handler_error", async () => {
    const sid = await newSession();
    const r = await client.request({ type: "fail", sessionId: sid, message: "boom" });
    expect(r).toMatchObject({ success: false, code: "handler_error", error: "boom", sessionVersion: 0 });
    const read = await client.request({ type: "get_state", sessionId: sid });
    expect(read).toMatchObject({ sessionVersion: 0, data: { state: {} } });
  });

  it("session commands on a missing session fail with session_not_found; duplicate create with session_exists", async () => {
    const r = await client.request({ type: "get_state", sessionId: "no-such-session" });
    expect(r).toMatchObject({ success: false, code: "session_not_found" });
    const sid = await newSession();
    const dup = await client.request({ type: "create_session", sessionId: sid });
    expect(dup).toMatchObject({ success: false, code: "session_exists" });
    const del = await client.request({ type: "delete_session", sessionId: sid });
    expect(del).toMatchObject({ success: true, data: { deleted: true } });
    const after = await client.request({ type: "get_state", sessionId: sid });
    expect(after.code).toBe("session_not_found");
  });

  it("subscribers of a session receive its lifecycle and session events", async () => {
    const sid = await newSession();
    const watcher = await server.connect();
    try {
      const sw = await watcher.request({ type: "switch_session", sessionId: sid });
      expect(sw).toMatchObject({ success: true, data: { sessionInfo: { sessionId: sid, sessionVersion: 0 } } });
      await client.request({ type: "emit", id: `em-${sid}`, sessionId: sid, payload: { hello: 1 } });
      const ev = await watcher.waitFor((f) => f.type === "event" && f.sessionId === sid);
      expect(ev.event).toEqual({ kind: "note", payload: { hello: 1 } });
      await watcher.waitFor((f) => f.type === "command_finished" && data(f).commandId === `em-${sid}`);
    } finally {
      await watcher.close();
    }
  });
});
});
