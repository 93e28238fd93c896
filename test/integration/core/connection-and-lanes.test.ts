/**
 * Issue #2 acceptance, driven against the real server process, over WebSocket on loopback and over
 * stdio (the same scenarios on both transports): the connection's `server_ready`; per-lane order
 * under a burst, and `busy` before admission.
 */
import { describe, expect, it } from "vitest";
import { startTransport, type TestClient, type TransportKind } from "../../helpers/transports.js";
import { data, lifecycle, useCoreServer } from "./helpers.js";

describe.each<TransportKind>(["websocket", "stdio"])("over %s", (kind) => {
let client: TestClient;
useCoreServer(kind, (s) => (client = s.client));


describe("connection", () => {
  it("sends server_ready with versions, transports and limits on connect", async () => {
    const ready = await client.waitFor((f) => f.type === "server_ready");
    expect(data(ready)).toMatchObject({ protocolVersion: "1.0.0", transports: [kind] });
    expect(data(ready).limits.maxFrameBytes).toBe(65536);
    expect(typeof data(ready).serverVersion).toBe("string");
  });
});

describe("lanes", () => {
  it("runs create → 100 writes → read in order, with accepted → started → finished and gap-free laneSequence", async () => {
    const sid = `burst-${Date.now().toString(36)}`;
    const ids: string[] = [];
    const responses: Array<Promise<any>> = [];
    responses.push(client.request({ type: "create_session", id: `create-${sid}`, sessionId: sid }));
    for (let i = 0; i < 100; i++) {
      const id = `w${i}-${sid}`;
      ids.push(id);
      // the create runs in the session's own lane: no write needs dependsOn to follow it
      responses.push(client.request({ type: "set", id, sessionId: sid, path: "/log/-", value: i }));
    }
    responses.push(client.request({ type: "get_state", id: `read-${sid}`, sessionId: sid }));
    const all = await Promise.all(responses);
    expect(all.filter((r) => !r.success)).toEqual([]);
    expect(all.slice(1, 101).map((r) => r.sessionVersion)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const read = all[101];
    expect(read.sessionVersion).toBe(100);
    expect(read.data.state.log).toEqual(Array.from({ length: 100 }, (_, i) => i));

    // lifecycle order per command, and events before the response
    for (const id of ids) {
      const evs = lifecycle(client, id).map((f) => f.type);
      expect(evs).toEqual(["command_accepted", "command_started", "command_finished"]);
      const idxFinished = client.frames.findIndex((f) => f.type === "command_finished" && data(f).commandId === id);
      const idxResponse = client.frames.findIndex((f) => f.type === "response" && f.id === id);
      expect(idxFinished).toBeLessThan(idxResponse);
    }
    // gap-free laneSequence within the session lane (the create included), strictly increasing global seq
    const laneEvents = client.frames.filter((f) => f.type.startsWith("command_") && data(f).laneKey === `session:${sid}`);
    const laneSeqs = laneEvents.map((f) => data(f).laneSequence as number);
    expect(laneSeqs).toEqual(Array.from({ length: laneSeqs.length }, (_, i) => laneSeqs[0]! + i));
    expect(laneSeqs.length).toBe(3 * 102);
    const seqs = client.frames.filter((f) => f.type.startsWith("command_")).map((f) => data(f).seq as number);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
  });

  it("returns busy before admission when a lane queue is full", async () => {
    const s2 = await startTransport(kind, { args: ["--max-queue-per-lane", "2"] });
    const c = s2.client;
    try {
      await c.request({ type: "create_session", sessionId: "q" });
      await c.request({ type: "create_session", sessionId: "ctl" });
      const held = c.request({ type: "hold", id: "h", sessionId: "q", key: "busy" });
      await c.waitFor((f) => f.type === "command_started" && data(f).commandId === "h");
      const queued = c.request({ type: "set", id: "q1", sessionId: "q", path: "/a", value: 1 });
      await c.waitFor((f) => f.type === "command_accepted" && data(f).commandId === "q1");
      const busy = await c.request({ type: "set", id: "q2", sessionId: "q", path: "/a", value: 2 });
      expect(busy).toMatchObject({ success: false, code: "busy" });
      expect(lifecycle(c, "q2")).toEqual([]);
      await c.request({ type: "release", sessionId: "ctl", key: "busy" });
      expect((await held).success).toBe(true);
      expect((await queued).success).toBe(true);
    } finally {
      expect((await s2.stop()).code).toBe(0);
    }
  });
});
});
