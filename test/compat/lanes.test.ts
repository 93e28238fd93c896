/**
 * Issue #14 §1 and §2, as a pi-server client sees them: session commands run in their session's
 * lane, and every command — reads included — walks the one path of admission, replay, lane,
 * journal and lifecycle events. Real server over WebSocket and stdio, pi-server-shaped frames
 * (no dependsOn where pi-server needs none).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Frame } from "../helpers/ws-client.js";
import { startTransport, type TestClient, type TestServer, type TransportKind } from "../helpers/transports.js";

type Data = Record<string, any>;
const data = (f: Frame): Data => f.data as Data;
const phases = (c: TestClient, commandId: string): string[] =>
  c.frames.filter((f) => f.type.startsWith("command_") && data(f)?.commandId === commandId).map((f) => f.type);
const responseTo = (c: TestClient, id: string, from = 0): Promise<Frame> => c.waitFor((f) => f.type === "response" && f.id === id, undefined, from);

describe.each<TransportKind>(["websocket", "stdio"])("over %s", (kind) => {
  let server: TestServer;
  let client: TestClient;
  let n = 0;
  const uid = (p: string): string => `${p}-${kind}-${++n}`;

  beforeAll(async () => {
    server = await startTransport(kind);
    client = server.client;
  });

  afterAll(async () => {
    expect((await server?.stop())?.code).toBe(0);
  });

  describe("#14 §1 session commands in their session's lane", () => {
    it("#14.1 pipelined create → set → get_state on one session succeed with no dependsOn", async () => {
      const sid = uid("pipe");
      const from = client.frames.length;
      // three frames back to back, no await between them, no dependsOn
      client.sendRaw({ id: `${sid}-c`, type: "create_session", sessionId: sid });
      client.sendRaw({ id: `${sid}-w`, type: "set", sessionId: sid, path: "/a", value: 1 });
      client.sendRaw({ id: `${sid}-r`, type: "get_state", sessionId: sid });
      const [c, w, r] = await Promise.all([`${sid}-c`, `${sid}-w`, `${sid}-r`].map((id) => responseTo(client, id, from)));
      expect(c).toMatchObject({ success: true, sessionVersion: 0, data: { sessionId: sid } });
      expect(w).toMatchObject({ success: true, sessionVersion: 1 });
      expect(r).toMatchObject({ success: true, sessionVersion: 1, data: { state: { a: 1 } } });
      const lanes = client.frames.filter((f) => f.type === "command_started" && [`${sid}-c`, `${sid}-w`, `${sid}-r`].includes(data(f).commandId));
      expect(lanes.map((f) => data(f).laneKey)).toEqual([`session:${sid}`, `session:${sid}`, `session:${sid}`]);
      expect(lanes.map((f) => data(f).commandId)).toEqual([`${sid}-c`, `${sid}-w`, `${sid}-r`]);
    });

    it("#14.1 pi-server's burst scenario: create → write → write pipelined on one session lane all succeed", async () => {
      const sid = uid("burst-order");
      const from = client.frames.length;
      client.sendRaw({ id: `${sid}:1`, type: "create_session", sessionId: sid });
      client.sendRaw({ id: `${sid}:2`, type: "set", sessionId: sid, path: "/m", value: "left" });
      client.sendRaw({ id: `${sid}:3`, type: "set", sessionId: sid, path: "/m", value: "next" });
      const out = await Promise.all([1, 2, 3].map((i) => responseTo(client, `${sid}:${i}`, from)));
      expect(out.map((r) => [r.success, r.sessionVersion])).toEqual([
        [true, 0],
        [true, 1],
        [true, 2],
      ]);
    });

    it("#14.1 create_session without a sessionId picks its id at admission and runs in that session's lane", async () => {
      const id = uid("gen");
      const r = await client.request({ id, type: "create_session" });
      expect(r.success).toBe(true);
      const sid = (r.data as Data).sessionId as string;
      expect(sid).toMatch(/^s_/);
      for (const type of ["command_accepted", "command_started", "command_finished"]) {
        const ev = await client.waitFor((f) => f.type === type && data(f).commandId === id);
        expect(data(ev)).toMatchObject({ laneKey: `session:${sid}`, sessionId: sid, dependsOn: [] });
      }
    });

    it("#14.1 a delete_session pipelined behind a running write of that session waits for it", async () => {
      const sid = uid("del-behind");
      await client.request({ type: "create_session", sessionId: sid });
      const from = client.frames.length;
      const key = uid("k");
      client.sendRaw({ id: `${sid}-hold`, type: "hold", sessionId: sid, key });
      await client.waitFor((f) => f.type === "command_started" && data(f).commandId === `${sid}-hold`, undefined, from);
      client.sendRaw({ id: `${sid}-del`, type: "delete_session", sessionId: sid });
      await client.waitFor((f) => f.type === "command_accepted" && data(f).commandId === `${sid}-del`, undefined, from);
      // the delete is queued behind the running write: it has not started
      expect(phases(client, `${sid}-del`)).toEqual(["command_accepted"]);
      await client.request({ type: "create_session", sessionId: `${sid}-x` });
      await client.request({ type: "release", sessionId: `${sid}-x`, key });
      const hold = await responseTo(client, `${sid}-hold`, from);
      const del = await responseTo(client, `${sid}-del`, from);
      expect(hold).toMatchObject({ success: true, sessionVersion: 1 });
      expect(del).toMatchObject({ success: true, data: { deleted: true } });
    });

    it("#14.1 delete_session honours ifSessionVersion: a stale version conflicts with the current one and deletes nothing", async () => {
      const sid = uid("del-v");
      await client.request({ type: "create_session", sessionId: sid });
      await client.request({ type: "set", sessionId: sid, path: "/a", value: 1 });
      const stale = await client.request({ type: "delete_session", sessionId: sid, ifSessionVersion: 0 });
      expect(stale).toMatchObject({ success: false, code: "version_conflict", sessionVersion: 1, error: "Session version mismatch: expected 0, got 1" });
      expect(await client.request({ type: "get_state", sessionId: sid })).toMatchObject({ success: true, sessionVersion: 1 });
      expect(await client.request({ type: "delete_session", sessionId: sid, ifSessionVersion: 1 })).toMatchObject({ success: true });
    });

    it("#14.1 ifSessionVersion on a command that cannot use it is refused with invalid_command, never ignored", async () => {
      for (const cmd of [
        { type: "create_session", sessionId: uid("iv") },
        { type: "list_sessions" },
        { type: "health_check" },
        { type: "switch_session", sessionId: uid("iv") },
      ]) {
        const id = uid("ifv");
        const r = await client.request({ ...cmd, id, ifSessionVersion: 0 });
        expect(r, cmd.type).toMatchObject({ success: false, code: "invalid_command", error: "Validation failed: ifSessionVersion: Only supported for session-targeted commands" });
        expect(phases(client, id)).toEqual([]);
      }
    });

    it("#14.1 a command of a deleted session fails session_not_found without running", async () => {
      const sid = uid("gone");
      await client.request({ type: "create_session", sessionId: sid });
      const from = client.frames.length;
      client.sendRaw({ id: `${sid}-del`, type: "delete_session", sessionId: sid });
      client.sendRaw({ id: `${sid}-w`, type: "set", sessionId: sid, path: "/a", value: 1 });
      expect(await responseTo(client, `${sid}-del`, from)).toMatchObject({ success: true });
      expect(await responseTo(client, `${sid}-w`, from)).toMatchObject({ success: false, code: "session_not_found", error: `Session ${sid} not found` });
      await client.waitFor((f) => f.type === "command_finished" && data(f).commandId === `${sid}-w`, undefined, from);
      expect(phases(client, `${sid}-w`)).toEqual(["command_accepted", "command_finished"]);
    });

    it("#14.1 lifecycle events of create and delete carry the sessionId", async () => {
      const sid = uid("ev");
      await client.request({ id: `${sid}-c`, type: "create_session", sessionId: sid });
      await client.request({ id: `${sid}-d`, type: "delete_session", sessionId: sid });
      for (const id of [`${sid}-c`, `${sid}-d`]) {
        const fin = await client.waitFor((f) => f.type === "command_finished" && data(f).commandId === id);
        expect(data(fin)).toMatchObject({ sessionId: sid, laneKey: `session:${sid}` });
      }
    });
  });

  describe("#14 §2 every command goes through the envelope", () => {
    it("#14.2 pi-server's scenario: a reused id on server commands conflicts (list_sessions, then health_check)", async () => {
      const id = uid("dup-int");
      expect(await client.request({ id, type: "list_sessions" })).toMatchObject({ success: true });
      const r = await client.request({ id, type: "health_check" });
      expect(r).toMatchObject({ success: false, code: "replay_conflict", command: "health_check" });
      expect(r.error).toContain(`Conflicting id '${id}'`);
      expect(r.error).toBe(`Conflicting id '${id}': previously used for 'list_sessions', now used for 'health_check'`);
    });

    it("#14.2 a reused idempotencyKey on reads conflicts with pi-server's text", async () => {
      const key = uid("idem-int");
      expect(await client.request({ id: uid("i1"), type: "list_sessions", idempotencyKey: key })).toMatchObject({ success: true });
      const r = await client.request({ id: uid("i2"), type: "health_check", idempotencyKey: key });
      expect(r).toMatchObject({ success: false, code: "replay_conflict" });
      expect(r.error).toContain(`Conflicting idempotencyKey '${key}'`);
    });

    it("#14.2 a duplicate id of a read replays its outcome instead of running again", async () => {
      const id = uid("hc");
      const first = await client.request({ id, type: "get_startup_recovery" });
      const again = await client.request({ id, type: "get_startup_recovery" });
      expect(first.success).toBe(true);
      expect(again).toMatchObject({ success: true, replayed: true, data: first.data });
      const health = await client.request({ id: `${id}-h`, type: "health_check" });
      const healthAgain = await client.request({ id: `${id}-h`, type: "health_check" });
      expect(healthAgain).toMatchObject({ replayed: true });
      expect((healthAgain.data as Data).uptimeMs).toBe((health.data as Data).uptimeMs);
    });

    it("#14.2 dependsOn holds for reads", async () => {
      const r = await client.request({ id: uid("dep-read"), type: "get_metrics", dependsOn: ["never-sent-anywhere"] });
      expect(r).toMatchObject({ success: false, code: "dependency_unknown", error: "Dependency 'never-sent-anywhere' is unknown" });
    });

    it("#14.2 reads emit accepted → started → finished like any command", async () => {
      for (const type of ["health_check", "get_metrics", "get_startup_recovery", "get_command_history", "list_sessions"]) {
        const id = uid("life");
        expect(await client.request({ id, type })).toMatchObject({ success: true });
        await client.waitFor((f) => f.type === "command_finished" && data(f).commandId === id);
        expect(phases(client, id), type).toEqual(["command_accepted", "command_started", "command_finished"]);
      }
    });

    it("#14.2 a read about commands sees what its own connection sent before it (read-your-writes)", async () => {
      const sid = uid("ryw");
      await client.request({ type: "create_session", sessionId: sid });
      const from = client.frames.length;
      client.sendRaw({ id: `${sid}-set`, type: "set", sessionId: sid, path: "/a", value: 1 });
      client.sendRaw({ id: `${sid}-get`, type: "get_command", commandId: `${sid}-set` });
      client.sendRaw({ id: `${sid}-hist`, type: "get_command_history", commandId: `${sid}-set` });
      const got = await responseTo(client, `${sid}-get`, from);
      expect(got).toMatchObject({ success: true, data: { found: true } });
      const hist = await responseTo(client, `${sid}-hist`, from);
      expect(((hist.data as Data).items as Data[]).map((i) => i.commandId)).toEqual([`${sid}-set`]);
    });

    it("#14.2 switch_session runs in its session's lane, after the session's earlier commands", async () => {
      const sid = uid("sw");
      const from = client.frames.length;
      client.sendRaw({ id: `${sid}-c`, type: "create_session", sessionId: sid });
      client.sendRaw({ id: `${sid}-sw`, type: "switch_session", sessionId: sid });
      const sw = await responseTo(client, `${sid}-sw`, from);
      expect(sw).toMatchObject({ success: true, sessionVersion: 0, data: { sessionInfo: { sessionId: sid } } });
    });
  });
});
