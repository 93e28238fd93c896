/**
 * #17.3: a deterministic handler that returns a value runs and settles within the turn that starts
 * it (no promise per command); a throw takes the same failure path; a returned promise, or
 * traceStarts, keeps the promise path. Lanes still move on in a loop, not by recursion: a long
 * queue and a long chain of cross-lane dependency waits settle without growing the stack.
 */
import { afterEach, describe, expect, it } from "vitest";
import { defineCommand } from "../../src/commands/define.js";
import { CausewayError } from "../../src/protocol/errors.js";
import { barrierCommands } from "../helpers/barrier.js";
import { startInProc, type FakeConnection, type InProc } from "../helpers/inproc.js";

let server: InProc | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

const throwing = [
  defineCommand({ type: "throw_now", scope: "session", effect: "write", deterministic: true, run: () => { throw new CausewayError("invalid_command", "no"); } }),
  defineCommand({ type: "throw_later", scope: "session", effect: "write", deterministic: true, run: () => Promise.reject(new CausewayError("invalid_command", "no")) }),
  defineCommand({ type: "bug_now", scope: "session", effect: "write", deterministic: true, run: () => { throw new Error("bug"); } }),
  defineCommand({ type: "bug_later", scope: "session", effect: "write", deterministic: true, run: async () => { throw new Error("bug"); } }),
];

/** The response without what differs between two commands (id, command type). */
function outcome(r: Record<string, any>): Record<string, unknown> {
  const { id: _id, command: _command, ...rest } = r;
  return rest;
}

/** The frames about `id`, in the order the connection got them. */
function framesOf(c: FakeConnection, id: string): string[] {
  return c.frames.filter((f) => f.data?.commandId === id || (f.type === "response" && f.id === id)).map((f) => f.type as string);
}

describe("#17.3 deterministic handlers settle within the turn", () => {
  it("#17.3 a handler that returns a value has run and finished when its admission returns; frames keep their order", async () => {
    server = startInProc();
    const c = server.connect();
    c.raw({ type: "create_session", id: "c", sessionId: "s" });
    // finished already: the engine no longer holds it, and the session exists in the working table
    expect(server.engine.command("c")).toBeUndefined();
    expect(server.engine.session("s")).toMatchObject({ version: 0 });
    c.raw({ type: "set", id: "w1", sessionId: "s", path: "/a", value: 1 });
    c.raw({ type: "set", id: "w2", sessionId: "s", path: "/a", value: 2 });
    expect(server.engine.session("s")).toMatchObject({ version: 2 });
    expect(server.engine.command("w2")).toBeUndefined();
    // persist before publish: nothing left the process in that turn
    expect(c.frames.filter((f) => f.type === "response" || f.type.startsWith("command_"))).toEqual([]);
    expect(await c.waitFor((f) => f.type === "response" && f.id === "w2")).toMatchObject({ success: true, sessionVersion: 2 });
    for (const id of ["c", "w1", "w2"]) expect(framesOf(c, id)).toEqual(["command_accepted", "command_started", "command_finished", "response"]);
    expect((await c.request({ type: "get_state", sessionId: "s" })).data).toEqual({ state: { a: 2 } });
  });

  it("#17.3 a handler that throws settles within the turn with the outcome a rejected promise gives", async () => {
    server = startInProc({ commands: throwing });
    const c = server.connect();
    await c.request({ type: "create_session", sessionId: "s" });
    c.raw({ type: "throw_now", id: "t1", sessionId: "s" });
    expect(server.engine.command("t1")).toBeUndefined();
    c.raw({ type: "bug_now", id: "b1", sessionId: "s" });
    expect(server.engine.command("b1")).toBeUndefined();
    const [t1, t2, b1, b2] = await Promise.all([
      c.waitFor((f) => f.type === "response" && f.id === "t1"),
      c.request({ type: "throw_later", id: "t2", sessionId: "s" }),
      c.waitFor((f) => f.type === "response" && f.id === "b1"),
      c.request({ type: "bug_later", id: "b2", sessionId: "s" }),
    ]);
    expect(t1).toMatchObject({ success: false, code: "invalid_command" });
    expect(outcome(t1)).toEqual(outcome(t2));
    expect(b1).toMatchObject({ success: false, code: "handler_error" });
    expect(outcome(b1)).toEqual(outcome(b2));
    expect(server.engine.session("s")).toMatchObject({ version: 0 });
  });

  it("#17.3 a handler that returns a promise, and every handler under traceStarts, still settles later", async () => {
    const { commands, release } = barrierCommands();
    server = startInProc({ commands });
    const c = server.connect();
    await c.request({ type: "create_session", sessionId: "s" });
    c.raw({ type: "hold", id: "h", sessionId: "s", key: "k" });
    expect(server.engine.command("h")).toMatchObject({ status: "running" });
    release("k");
    expect(await c.waitFor((f) => f.type === "response" && f.id === "h")).toMatchObject({ success: true, sessionVersion: 1 });
    await server.stop();

    server = startInProc({ config: { traceStarts: true } });
    const t = server.connect();
    t.raw({ type: "create_session", id: "c", sessionId: "s" });
    expect(server.engine.command("c")).toMatchObject({ status: "running" });
    expect(server.engine.session("s")).toBeUndefined();
    expect(await t.waitFor((f) => f.type === "response" && f.id === "c")).toMatchObject({ success: true });
  });

  it("#17.3 a long queue behind a held head settles in the lane's pump loop (no recursion), in order", async () => {
    const n = 5_000;
    const { commands, release } = barrierCommands();
    server = startInProc({ commands, config: { limits: { maxQueuePerLane: n + 10, maxInFlightPerConnection: n + 10 } as any } });
    const c = server.connect();
    await c.request({ type: "create_session", sessionId: "s" });
    c.raw({ type: "hold", id: "h", sessionId: "s", key: "k" });
    for (let i = 1; i <= n; i++) c.raw({ type: "set", id: `q${i}`, sessionId: "s", path: "/i", value: i });
    expect(server.engine.command(`q${n}`)).toMatchObject({ status: "queued" });
    release("k");
    const last = await c.waitFor((f) => f.type === "response" && f.id === `q${n}`);
    expect(last).toMatchObject({ success: true, sessionVersion: n + 1 });
    const versions = c.frames.filter((f) => f.type === "response" && /^q\d+$/.test(f.id)).map((f) => f.sessionVersion);
    expect(versions).toEqual(Array.from({ length: n }, (_, i) => i + 2));
  });

  it("#17.3 a long chain of cross-lane dependency waits settles without nesting one settled handler in another", async () => {
    const n = 2_000;
    const { commands, release } = barrierCommands();
    server = startInProc({ commands, config: { limits: { maxInFlightPerConnection: 3 * n } as any } });
    const c = server.connect();
    for (let i = 0; i <= n; i++) c.raw({ type: "create_session", id: `c${i}`, sessionId: `s${i}` });
    await c.waitFor((f) => f.type === "response" && f.id === `c${n}`);
    c.raw({ type: "hold", id: "d0", sessionId: "s0", key: "k" });
    // d_i in session s_i waits at its lane head for d_{i-1} in the lane before
    for (let i = 1; i <= n; i++) c.raw({ type: "set", id: `d${i}`, sessionId: `s${i}`, path: "/d", value: i, dependsOn: [`d${i - 1}`] });
    expect(server.engine.command(`d${n}`)).toMatchObject({ status: "pending", pendingReason: "dependency" });
    release("k");
    const last = await c.waitFor((f) => f.type === "response" && f.id === `d${n}`);
    expect(last).toMatchObject({ success: true, sessionVersion: 1 });
    const failed = c.frames.filter((f) => f.type === "response" && /^d\d+$/.test(f.id) && f.success !== true);
    expect(failed).toEqual([]);
  });
});
