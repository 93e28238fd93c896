/**
 * Issue #2 acceptance, driven against the real server process, over WebSocket on loopback and
 * over stdio (the same scenarios on both transports).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Frame } from "../helpers/ws-client.js";
import { startTransport, type TestClient, type TestServer, type TransportKind } from "../helpers/transports.js";

type Data = Record<string, any>;
const data = (f: Frame): Data => f.data as Data;
const lifecycle = (c: TestClient, commandId: string): Frame[] =>
  c.frames.filter((f) => f.type.startsWith("command_") && data(f)?.commandId === commandId);

describe.each<TransportKind>(["websocket", "stdio"])("over %s", (kind) => {
let server: TestServer;
let client: TestClient;
let sessionCounter = 0;

beforeAll(async () => {
  server = await startTransport(kind, { args: ["--max-frame-bytes", "65536", "--dependency-wait-ms", "20000"] });
  client = server.client;
});

afterAll(async () => {
  const exit = await server?.stop();
  expect(exit?.code).toBe(0);
});

async function newSession(c = client): Promise<string> {
  const sessionId = `s${++sessionCounter}-${Date.now().toString(36)}`;
  const r = await c.request({ type: "create_session", sessionId });
  expect(r.success).toBe(true);
  return sessionId;
}

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

describe("dependsOn", () => {
  it("fails an unknown dependency with dependency_unknown", async () => {
    const sid = await newSession();
    const r = await client.request({ type: "set", id: `du-${sid}`, sessionId: sid, path: "/a", value: 1, dependsOn: ["never-sent"] });
    expect(r).toMatchObject({ success: false, code: "dependency_unknown" });
  });

  it("fails a dependent of a failed command with dependency_failed", async () => {
    const sid = await newSession();
    const bad = await client.request({ type: "patch", id: `bad-${sid}`, sessionId: sid, ops: [{ op: "test", path: "/nope", value: 1 }] });
    expect(bad.code).toBe("patch_failed");
    const r = await client.request({ type: "set", id: `df-${sid}`, sessionId: sid, path: "/a", value: 1, dependsOn: [`bad-${sid}`] });
    expect(r).toMatchObject({ success: false, code: "dependency_failed" });
    expect(lifecycle(client, `df-${sid}`).map((f) => f.type)).toEqual(["command_accepted", "command_finished"]);
  });

  it("waits for a dependency running in another lane", async () => {
    const a = await newSession();
    const b = await newSession();
    const ctl = await newSession();
    const hold = client.request({ type: "hold", id: `hw-${a}`, sessionId: a, key: `wait-${a}` });
    await client.waitFor((f) => f.type === "command_started" && data(f).commandId === `hw-${a}`);
    const dependent = client.request({ type: "set", id: `dw-${b}`, sessionId: b, path: "/after", value: true, dependsOn: [`hw-${a}`] });
    await client.waitFor((f) => f.type === "command_accepted" && data(f).commandId === `dw-${b}`);
    // a later command in the dependent's lane proves the lane is blocked behind it, not skipped
    const behind = client.request({ type: "get_state", id: `gb-${b}`, sessionId: b });
    await client.waitFor((f) => f.type === "command_accepted" && data(f).commandId === `gb-${b}`);
    expect(lifecycle(client, `dw-${b}`).map((f) => f.type)).toEqual(["command_accepted"]);
    await client.request({ type: "release", sessionId: ctl, key: `wait-${a}` });
    expect((await hold).success).toBe(true);
    const r = await dependent;
    expect(r.success).toBe(true);
    const finishedDep = lifecycle(client, `hw-${a}`).find((f) => f.type === "command_finished")!;
    const startedDependent = lifecycle(client, `dw-${b}`).find((f) => f.type === "command_started")!;
    expect(data(startedDependent).seq).toBeGreaterThan(data(finishedDep).seq);
    expect((await behind).data.state).toEqual({ after: true });
  });

  it("fails fast when the dependency is queued behind the dependent in the same lane", async () => {
    const a = await newSession();
    const ctl = await newSession();
    const hold = client.request({ type: "hold", id: `hi-${a}`, sessionId: a, key: `inv-${a}` });
    const x = client.request({ type: "set", id: `x-${a}`, sessionId: a, path: "/x", value: 1, dependsOn: [`y-${a}`] });
    const y = client.request({ type: "set", id: `y-${a}`, sessionId: a, path: "/y", value: 1 });
    await client.waitFor((f) => f.type === "command_accepted" && data(f).commandId === `y-${a}`);
    await client.request({ type: "release", sessionId: ctl, key: `inv-${a}` });
    await hold;
    const rx = await x;
    expect(rx).toMatchObject({ success: false, code: "dependency_failed" });
    expect(rx.error).toMatch(/queued in the same lane/);
    expect((await y).success).toBe(true);
  });

  it("detects a cross-lane cycle at admission, while both lanes are still blocked", async () => {
    const a = await newSession();
    const b = await newSession();
    const ctl = await newSession();
    const ha = client.request({ type: "hold", id: `ca-${a}`, sessionId: a, key: `cyc-a-${a}` });
    const hb = client.request({ type: "hold", id: `cb-${b}`, sessionId: b, key: `cyc-b-${a}` });
    // a2 waits (lane order) behind the hold, then for b1; b1 would wait for a2
    const a2 = client.request({ type: "set", id: `a2-${a}`, sessionId: a, path: "/v", value: 1, dependsOn: [`b1-${a}`] });
    await client.waitFor((f) => f.type === "command_accepted" && data(f).commandId === `a2-${a}`);
    const b1 = await client.request({ type: "set", id: `b1-${a}`, sessionId: b, path: "/v", value: 1, dependsOn: [`a2-${a}`] });
    expect(b1).toMatchObject({ success: false, code: "dependency_cycle" });
    expect(lifecycle(client, `b1-${a}`)).toEqual([]);
    // both holds still running: the cycle was found at admission, not by a timeout
    expect(lifecycle(client, `ca-${a}`).map((f) => f.type)).toEqual(["command_accepted", "command_started"]);
    await client.request({ type: "release", sessionId: ctl, key: `cyc-a-${a}` });
    await client.request({ type: "release", sessionId: ctl, key: `cyc-b-${a}` });
    await Promise.all([ha, hb]);
    expect(await a2).toMatchObject({ success: false, code: "dependency_unknown" });
  });
});

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

describe("bad input", () => {
  const cases: Array<[string, string, string]> = [
    ["malformed JSON", '{"type": "get_state",', "invalid_command"],
    ["a non-object", "[1,2,3]", "invalid_command"],
    ["a bare number", "42", "invalid_command"],
    ["excessive depth", `{"type":"set","sessionId":"s","path":"/a","value":${"[".repeat(100)}${"]".repeat(100)}}`, "invalid_command"],
    ["wrong types", '{"type":"set","id":"wt","sessionId":"s","path":5,"value":1}', "invalid_command"],
    ["an unknown command", '{"type":"launch_rockets","id":"uc"}', "unknown_command"],
    ["33 dependsOn entries", JSON.stringify({ type: "get_state", id: "d33", sessionId: "s", dependsOn: Array.from({ length: 33 }, (_, i) => `d${i}`) }), "invalid_command"],
    ["dependsOn without id", JSON.stringify({ type: "get_state", sessionId: "s", dependsOn: ["a"] }), "invalid_command"],
    ["an over-long id", JSON.stringify({ type: "get_state", id: "x".repeat(257), sessionId: "s" }), "invalid_command"],
    ["an oversize frame", JSON.stringify({ type: "set", sessionId: "s", path: "/a", value: "x".repeat(70_000) }), "payload_too_large"],
  ];
  for (const [name, frame, code] of cases) {
    it(`answers ${name} with ${code} and stays usable`, async () => {
      const from = client.frames.length;
      client.sendRaw(frame);
      const r = await client.waitFor((f) => f.type === "response" && f.success === false, undefined, from);
      expect(r.code).toBe(code);
      expect(typeof r.error).toBe("string");
      expect((r.error as string).length).toBeGreaterThan(5);
      const h = await client.request({ type: "health_check" });
      expect(h.success).toBe(true);
      expect(client.usable()).toBe(true);
    });
  }
});
});
