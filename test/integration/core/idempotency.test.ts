/**
 * Issue #2 acceptance, driven against the real server process, over WebSocket on loopback and over
 * stdio (the same scenarios on both transports): duplicate ids and idempotency keys: replay,
 * `replay_conflict`, concurrent retries collapsed.
 */
import { describe, expect, it } from "vitest";
import type { TestClient, TestServer, TransportKind } from "../../helpers/transports.js";
import { data, lifecycle, useCoreServer } from "./helpers.js";

describe.each<TransportKind>(["websocket", "stdio"])("over %s", (kind) => {
let server: TestServer;
let client: TestClient;
const newSession = useCoreServer(kind, (s) => ((server = s), (client = s.client)));


describe("replay and idempotency", () => {
  it("replays a duplicate id with only command_finished replayed:true, and refuses a different payload", async () => {
    const sid = await newSession();
    const first = await client.request({ type: "set", id: `dup-${sid}`, sessionId: sid, path: "/x", value: 1 });
    const again = await client.request({ type: "set", id: `dup-${sid}`, sessionId: sid, path: "/x", value: 1 });
    expect(again.replayed).toBe(true);
    const { replayed: _r, ...rest } = again;
    expect(rest).toEqual(first);
    const evs = lifecycle(client, `dup-${sid}`).map((f) => [f.type, data(f).replayed === true]);
    expect(evs).toEqual([
      ["command_accepted", false],
      ["command_started", false],
      ["command_finished", false],
      ["command_finished", true],
    ]);
    const conflict = await client.request({ type: "set", id: `dup-${sid}`, sessionId: sid, path: "/x", value: 2 });
    expect(conflict).toMatchObject({ success: false, code: "replay_conflict" });
    const state = await client.request({ type: "get_state", sessionId: sid });
    expect(state.data).toEqual({ state: { x: 1 } });
    expect(state.sessionVersion).toBe(1);
  });

  it("collapses concurrent idempotency retries from two connections into one execution", async () => {
    const sid = await newSession();
    const other = await server.connect();
    try {
      await client.request({ type: "create_session", sessionId: `${sid}-ctl` });
      const hold = client.request({ type: "hold", id: `ih-${sid}`, sessionId: sid, key: `idem-${sid}` });
      await client.waitFor((f) => f.type === "command_started" && data(f).commandId === `ih-${sid}`);
      const cmd = { type: "set", sessionId: sid, path: "/n", value: 7, idempotencyKey: `k-${sid}` };
      const tries = [
        client.request({ ...cmd, id: `i1-${sid}` }),
        other.request({ ...cmd, id: `i2-${sid}` }),
        client.request({ ...cmd, id: `i3-${sid}` }),
        other.request({ ...cmd, id: `i4-${sid}` }),
      ];
      await client.request({ type: "release", sessionId: `${sid}-ctl`, key: `idem-${sid}` });
      await hold;
      const rs = await Promise.all(tries);
      expect(rs.every((r) => r.success)).toBe(true);
      expect(rs.filter((r) => r.replayed !== true)).toHaveLength(1);
      expect(new Set(rs.map((r) => r.sessionVersion))).toEqual(new Set([2]));
      const state = await client.request({ type: "get_state", sessionId: sid });
      expect(state.sessionVersion).toBe(2);
      // a replay answers with the request's own id, never the original's
      expect(rs.map((r) => r.id)).toEqual([`i1-${sid}`, `i2-${sid}`, `i3-${sid}`, `i4-${sid}`]);
    } finally {
      await other.close();
    }
  });

  it("a replay without an id carries no id (no stale historical id leaks)", async () => {
    const sid = await newSession();
    await client.request({ type: "set", id: `orig-${sid}`, sessionId: sid, path: "/y", value: 1, idempotencyKey: `noid-${sid}` });
    const from = client.frames.length;
    client.sendRaw({ type: "set", sessionId: sid, path: "/y", value: 1, idempotencyKey: `noid-${sid}` });
    const r = await client.waitFor((f) => f.type === "response" && f.command === "set" && f.replayed === true, undefined, from);
    expect("id" in r).toBe(false);
    expect(r.sessionVersion).toBe(1);
  });
});
});
