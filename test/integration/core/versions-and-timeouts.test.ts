/**
 * Issue #2 acceptance, driven against the real server process, over WebSocket on loopback and over
 * stdio (the same scenarios on both transports): `ifSessionVersion` conflicts, and timeouts while
 * queued and while running.
 */
import { describe, expect, it } from "vitest";
import type { TestClient, TransportKind } from "../../helpers/transports.js";
import { lifecycle, useCoreServer } from "./helpers.js";

describe.each<TransportKind>(["websocket", "stdio"])("over %s", (kind) => {
let client: TestClient;
const newSession = useCoreServer(kind, (s) => (client = s.client));


describe("ifSessionVersion", () => {
  it("fails a stale version with version_conflict and the current version", async () => {
    const sid = await newSession();
    await client.request({ type: "set", sessionId: sid, path: "/a", value: 1 });
    await client.request({ type: "set", sessionId: sid, path: "/a", value: 2 });
    const ok = await client.request({ type: "set", sessionId: sid, path: "/a", value: 3, ifSessionVersion: 2 });
    expect(ok).toMatchObject({ success: true, sessionVersion: 3 });
    const stale = await client.request({ type: "set", sessionId: sid, path: "/a", value: 4, ifSessionVersion: 1 });
    expect(stale).toMatchObject({ success: false, code: "version_conflict", sessionVersion: 3 });
    const read = await client.request({ type: "get_state", sessionId: sid });
    expect(read).toMatchObject({ sessionVersion: 3, data: { state: { a: 3 } } });
  });
});

describe("timeouts", () => {
  it("a command that times out while queued never starts", async () => {
    const sid = await newSession();
    const ctl = await newSession();
    const hold = client.request({ type: "hold", id: `tq-h-${sid}`, sessionId: sid, key: `tq-${sid}` });
    const queued = await client.request({ type: "set", id: `tq-${sid}`, sessionId: sid, path: "/ran", value: true, timeoutMs: 50 });
    expect(queued).toMatchObject({ success: false, code: "timeout", timedOut: true });
    await client.request({ type: "release", sessionId: ctl, key: `tq-${sid}` });
    await hold;
    const read = await client.request({ type: "get_state", sessionId: sid });
    expect(read.data.state.ran).toBeUndefined();
    expect(lifecycle(client, `tq-${sid}`).map((f) => f.type)).toEqual(["command_accepted", "command_finished"]);
    // a duplicate of the timed-out id replays the timeout (terminal), it does not run now
    const again = await client.request({ type: "set", id: `tq-${sid}`, sessionId: sid, path: "/ran", value: true, timeoutMs: 50 });
    expect(again).toMatchObject({ replayed: true, code: "timeout" });
  });

  it("a command that times out while running is aborted, its changes discarded, and a late completion ignored", async () => {
    const sid = await newSession();
    const ctl = await newSession();
    const r = await client.request({ type: "hold", id: `tr-${sid}`, sessionId: sid, key: `tr-${sid}`, timeoutMs: 100 });
    expect(r).toMatchObject({ success: false, code: "timeout", timedOut: true, sessionVersion: 0 });
    await client.request({ type: "release", sessionId: ctl, key: `tr-${sid}` });
    const read = await client.request({ type: "get_state", sessionId: sid });
    expect(read).toMatchObject({ sessionVersion: 0, data: { state: {} } });
    expect(lifecycle(client, `tr-${sid}`).filter((f) => f.type === "command_finished")).toHaveLength(1);
  });
});
});
