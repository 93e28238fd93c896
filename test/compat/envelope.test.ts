/**
 * Issue #14 §5 and §6: envelope leniency where pi-server is lenient, and the pi-server bugs
 * causeway does NOT copy. Real server over WebSocket and stdio.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Frame } from "../helpers/ws-client.js";
import { DEFAULT_LIMITS } from "../../src/config/defaults.js";
import { startTransport, type TestClient, type TestServer, type TransportKind } from "../helpers/transports.js";

type Data = Record<string, any>;
const data = (f: Frame): Data => f.data as Data;
const of = (c: TestClient, type: string, commandId: string, from = 0): Frame[] =>
  c.frames.slice(from).filter((f) => f.type === type && data(f)?.commandId === commandId);

describe.each<TransportKind>(["websocket", "stdio"])("over %s", (kind) => {
  let server: TestServer;
  let client: TestClient;
  let n = 0;
  const uid = (p: string): string => `${p}-${kind}-${++n}`;

  beforeAll(async () => {
    server = await startTransport(kind, { args: ["--default-timeout-ms", "30000"] });
    client = server.client;
  });

  afterAll(async () => {
    expect((await server?.stop())?.code).toBe(0);
  });

  describe("#14 §5 envelope leniency", () => {
    it("#14.5 an unknown top-level field is ignored, and still counts in the fingerprint", async () => {
      const id = uid("cwd");
      const sid = uid("s");
      expect(await client.request({ id, type: "create_session", sessionId: sid, cwd: "/tmp" })).toMatchObject({ success: true, sessionVersion: 0 });
      const without = await client.request({ id, type: "create_session", sessionId: sid });
      expect(without).toMatchObject({ success: false, code: "replay_conflict" });
      expect(await client.request({ id, type: "create_session", sessionId: sid, cwd: "/tmp" })).toMatchObject({ success: true, replayed: true });
    });

    it("#14.5 dependsOn: [] needs no id, and a repeated dependency counts once", async () => {
      expect(await client.request({ type: "list_sessions", dependsOn: [] })).toMatchObject({ success: true });
      const sid = uid("dep");
      await client.request({ id: `${sid}-c`, type: "create_session", sessionId: sid });
      const r = await client.request({ id: uid("twice"), type: "list_sessions", dependsOn: [`${sid}-c`, `${sid}-c`] });
      expect(r).toMatchObject({ success: true });
      const acc = await client.waitFor((f) => f.type === "command_accepted" && data(f).commandId === r.id);
      expect(data(acc).dependsOn).toEqual([`${sid}-c`]);
    });

    it("#14.5 an unparseable frame answers command \"unknown\"; an invalid command echoes its string id", async () => {
      let from = client.frames.length;
      client.sendRaw("{not valid json");
      const bad = await client.waitFor((f) => f.type === "response" && f.success === false, undefined, from);
      expect(bad).toMatchObject({ command: "unknown", code: "invalid_command" });
      expect(bad.id).toBeUndefined();
      from = client.frames.length;
      const longId = "x".repeat(300);
      client.sendRaw({ id: longId, type: "list_sessions" });
      const echoed = await client.waitFor((f) => f.type === "response" && f.id === longId, undefined, from);
      expect(echoed).toMatchObject({ success: false, code: "invalid_command", command: "list_sessions" });
      expect(echoed.error).toMatch(/^Validation failed: /);
      const missingType = await client.request({ id: uid("nt"), sessionId: "x" });
      expect(missingType).toMatchObject({ success: false, command: "unknown", code: "invalid_command" });
      expect(missingType.error).toContain("type");
      const unknown = await client.request({ id: uid("uk"), type: "unknown_command_xyz" });
      expect(unknown).toMatchObject({ success: false, command: "unknown_command_xyz", code: "unknown_command", error: "Validation failed: type: Unknown command type 'unknown_command_xyz'" });
    });

    it("#14.5 the default frame limit is 10 MiB, and a larger frame is answered payload_too_large before any close", async () => {
      expect(DEFAULT_LIMITS.maxFrameBytes).toBe(10 * 1024 * 1024);
      const ready = await client.waitFor((f) => f.type === "server_ready");
      expect(data(ready).limits.maxFrameBytes).toBe(10 * 1024 * 1024);
      const from = client.frames.length;
      client.sendRaw({ id: uid("big"), type: "set", sessionId: "s", path: "/a", value: "😀".repeat(2_800_000) });
      const r = await client.waitFor((f) => f.type === "response" && f.success === false, undefined, from);
      expect(r).toMatchObject({ code: "payload_too_large", command: "unknown" });
      expect(String(r.error).toLowerCase()).toMatch(/size|limit/);
      expect(await client.request({ type: "health_check" })).toMatchObject({ success: true });
      expect(client.usable()).toBe(true);
    });
  });

  describe("#14 §6 pi-server bugs causeway does not copy", () => {
    it("#14.6 a replayed create_session does not broadcast session_created again", async () => {
      const sid = uid("once");
      const id = `${sid}-c`;
      await client.request({ id, type: "create_session", sessionId: sid });
      await client.waitFor((f) => f.type === "session_created" && data(f).sessionId === sid);
      expect(await client.request({ id, type: "create_session", sessionId: sid })).toMatchObject({ replayed: true });
      // a later command's finish proves everything the replay caused was delivered
      const probe = await client.request({ id: uid("probe"), type: "list_sessions" });
      await client.waitFor((f) => f.type === "command_finished" && data(f).commandId === probe.id);
      expect(client.frames.filter((f) => f.type === "session_created" && data(f).sessionId === sid)).toHaveLength(1);
      expect(client.frames.filter((f) => f.type === "session_deleted" && data(f).sessionId === sid)).toHaveLength(0);
    });

    it("#14.6 a conflict does not emit a second command_finished for an id that already finished", async () => {
      const id = uid("fin-once");
      await client.request({ id, type: "list_sessions" });
      const conflict = await client.request({ id, type: "health_check" });
      expect(conflict.code).toBe("replay_conflict");
      const probe = await client.request({ id: uid("probe"), type: "list_sessions" });
      await client.waitFor((f) => f.type === "command_finished" && data(f).commandId === probe.id);
      expect(of(client, "command_finished", id)).toHaveLength(1);
      expect(of(client, "command_rejected", id)).toHaveLength(1);
    });

    it("#14.6 a timeout discards the command's changes", async () => {
      const sid = uid("to");
      await client.request({ type: "create_session", sessionId: sid });
      const r = await client.request({ type: "hold", sessionId: sid, key: uid("never"), timeoutMs: 200 });
      expect(r).toMatchObject({ success: false, code: "timeout", timedOut: true, sessionVersion: 0 });
      expect(await client.request({ type: "get_state", sessionId: sid })).toMatchObject({ sessionVersion: 0, data: { state: {} } });
    });

    it("#14.6 command_started is emitted only when the handler really starts (after dependency and version checks)", async () => {
      const sid = uid("st");
      await client.request({ type: "create_session", sessionId: sid });
      const dep = uid("dep-fail");
      expect(await client.request({ id: dep, type: "set", sessionId: sid, path: "/a", value: 1, dependsOn: ["nobody-sent-this"] })).toMatchObject({ code: "dependency_unknown" });
      const ver = uid("ver-fail");
      expect(await client.request({ id: ver, type: "set", sessionId: sid, path: "/a", value: 1, ifSessionVersion: 7 })).toMatchObject({ code: "version_conflict" });
      for (const id of [dep, ver]) {
        await client.waitFor((f) => f.type === "command_finished" && data(f).commandId === id);
        expect(of(client, "command_started", id)).toHaveLength(0);
      }
    });

    it("#14.6 idempotency keys of server commands use the server scope (pi-server PROTOCOL §8.2)", async () => {
      const key = uid("srv-key");
      const a = uid("a");
      const b = uid("b");
      expect(await client.request({ type: "create_session", sessionId: a, idempotencyKey: key })).toMatchObject({ success: true });
      // another session, same server-scope key: a conflict, not a second create
      const r = await client.request({ type: "create_session", sessionId: b, idempotencyKey: key });
      expect(r).toMatchObject({ success: false, code: "replay_conflict" });
      expect(await client.request({ type: "get_state", sessionId: b })).toMatchObject({ code: "session_not_found" });
      // a session command's key lives in its session's scope: the same key there is a new command
      expect(await client.request({ type: "get_state", sessionId: a, idempotencyKey: key })).toMatchObject({ success: true });
    });
  });
});

describe("#14.5 --strict", () => {
  it("#14.5 --strict keeps refusing unknown top-level fields", async () => {
    const server = await startTransport("websocket", { args: ["--strict"] });
    try {
      const r = await server.client.request({ type: "list_sessions", cwd: "/tmp" });
      expect(r).toMatchObject({ success: false, code: "invalid_command" });
      expect(r.error).toMatch(/^Validation failed: cwd: unknown field/);
    } finally {
      await server.stop();
    }
  });
});
