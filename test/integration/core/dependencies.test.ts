/**
 * Issue #2 acceptance, driven against the real server process, over WebSocket on loopback and over
 * stdio (the same scenarios on both transports): dependsOn: unknown, failed, cross-lane wait,
 * same-lane inversion, cross-lane cycle.
 */
import { describe, expect, it } from "vitest";
import type { TestClient, TransportKind } from "../../helpers/transports.js";
import { data, lifecycle, useCoreServer } from "./helpers.js";

describe.each<TransportKind>(["websocket", "stdio"])("over %s", (kind) => {
let client: TestClient;
const newSession = useCoreServer(kind, (s) => (client = s.client));


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
});
