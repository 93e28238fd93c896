/**
 * Issue #15 item 18: dependency waits must not starve a lane. A command whose dependency is
 * unfinished in another lane holds its own lane for up to dependencyWaitMs; anyone could chain
 * such commands into any session's lane. Now (a) with authentication only an actor allowed to
 * write a session may queue commands with dependsOn in its lane (`forbidden`), and (b) a lane
 * holds at most maxDependencyWaitersPerLane commands that may wait (`busy`), so a command waits
 * behind at most maxDependencyWaitersPerLane × dependencyWaitMs of dependency waits.
 * Real servers: WebSocket with tokens; WebSocket and stdio open.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Frame } from "../helpers/ws-client.js";
import { tempDir } from "../helpers/spawn.js";
import { startTransport, type TestClient } from "../helpers/transports.js";
import { send, startGoverned } from "./harness.js";

const idOf = (f: Frame): string | undefined => (f.data as { commandId?: string } | undefined)?.commandId;

/** send without waiting for the response; resolves once the command is accepted */
async function admitted(c: TestClient, cmd: Record<string, unknown> & { id: string }): Promise<void> {
  c.sendRaw(cmd);
  await c.waitFor((f) => (f.type === "command_accepted" && idOf(f) === cmd.id) || (f.type === "response" && f.id === cmd.id && f.success === false));
  const refused = c.frames.find((f) => f.type === "response" && f.id === cmd.id && f.success === false);
  expect(refused, `${cmd.id} was refused: ${JSON.stringify(refused)}`).toBeUndefined();
}

describe("#15.18 dependency waits", () => {
  it("#15.18 (a) with tokens, only an actor allowed to write a session may queue a command with dependsOn in its lane; others get forbidden and nothing is journaled", async () => {
    const dir = tempDir("causeway-depwait-auth-");
    const policy = join(dir, "policy.json");
    // bob (approver) and alice (admin) may write; dave may read but not write; nobody writes ro-*
    writeFileSync(
      policy,
      JSON.stringify({
        version: 1,
        roles: { set: ["admin", "approver"] },
        rules: [{ name: "read-only sessions", match: { type: "set", sessionId: "ro-*" }, effect: "deny", reason: "ro sessions are read-only" }],
      }),
    );
    const g = await startGoverned({ dir, policy });
    try {
      const [alice, bob, dave] = await Promise.all([g.connect("alice"), g.connect("bob"), g.connect("dave")]);
      for (const sid of ["team", "ro-1"]) expect((await send(alice, { type: "create_session", id: `mk-${sid}`, sessionId: sid })).success).toBe(true);
      // dave reads the session, but may not make its lane wait
      expect((await send(dave, { type: "get_state", id: "d-plain", sessionId: "team" })).success).toBe(true);
      const refused = await send(dave, { type: "get_state", id: "d-dep", sessionId: "team", dependsOn: ["mk-team"] });
      expect(refused).toMatchObject({ success: false, code: "forbidden" });
      expect(refused.error).toBe(
        "dave may not queue a command with dependsOn in lane session:team: only actors allowed to write session team may make its lane wait, and the policy denies dave a set there: only admin or approver may submit set (policy rule roles.set)",
      );
      expect((await send(alice, { type: "get_command", commandId: "d-dep" })).data).toEqual({ found: false, commandId: "d-dep" });
      // a writer may
      expect(await send(bob, { type: "get_state", id: "b-dep", sessionId: "team", dependsOn: ["mk-team"] })).toMatchObject({ success: true });
      // a session nobody may write: its lane waits for nobody's dependencies, the admin's included
      const ro = await send(alice, { type: "get_state", id: "a-ro", sessionId: "ro-1", dependsOn: ["mk-ro-1"] });
      expect(ro).toMatchObject({ success: false, code: "forbidden" });
      expect(ro.error).toContain("ro sessions are read-only (policy rule read-only sessions)");
      expect(await send(alice, { type: "get_state", id: "a-ro-plain", sessionId: "ro-1" })).toMatchObject({ success: true });
    } finally {
      await g.stop();
    }
  });

  for (const kind of ["websocket", "stdio"] as const) {
    it(`#15.18 (b) a lane holds at most maxDependencyWaitersPerLane commands that may wait for another lane (queued or pending); the next is refused busy naming the limit (${kind})`, async () => {
      const dir = tempDir("causeway-depwait-");
      const policy = join(dir, "policy.json");
      writeFileSync(policy, JSON.stringify({ version: 1, rules: [{ name: "gated", match: { tags: ["gated"] }, effect: "require_approval", approvals: 1, approverRoles: ["approver"] }] }));
      const server = await startTransport(kind, { db: join(dir, "causeway.db"), args: ["--max-dependency-waiters-per-lane", "2", "--policy-file", policy] });
      try {
        const c = server.client;
        for (const sid of ["a", "b", "c", "r"]) expect((await c.request({ type: "create_session", id: `mk-${sid}`, sessionId: sid })).success).toBe(true);
        // h runs in lane b until released: anything depending on it waits
        c.sendRaw({ type: "hold", id: "h", sessionId: "b", key: "dep" });
        await c.waitFor((f) => f.type === "command_started" && idOf(f) === "h");
        await admitted(c, { type: "get_state", id: "a1", sessionId: "a", dependsOn: ["h"] });
        await admitted(c, { type: "get_state", id: "a2", sessionId: "a", dependsOn: ["h", "mk-a"] });
        const busy = await c.request({ type: "get_state", id: "a3", sessionId: "a", dependsOn: ["h"] });
        expect(busy).toMatchObject({ success: false, code: "busy" });
        expect(busy.error).toBe(
          "lane session:a already holds 2 commands that may wait for a dependency in another lane (maxDependencyWaitersPerLane); each may hold the lane for up to dependencyWaitMs (30000 ms): retry later",
        );
        // an id not known yet may become another lane's command later: it counts too
        expect(await c.request({ type: "get_state", id: "a4", sessionId: "a", dependsOn: ["not-yet"] })).toMatchObject({ code: "busy" });
        expect((await c.request({ type: "get_command", commandId: "a3" })).data).toEqual({ found: false, commandId: "a3" });
        // dependencies that cannot wait are not counted: finished ones, and same-lane chains (FIFO)
        await admitted(c, { type: "set", id: "a5", sessionId: "a", path: "/x", value: 1, dependsOn: ["mk-a"] });
        await admitted(c, { type: "set", id: "a6", sessionId: "a", path: "/x", value: 2, dependsOn: ["a5"] });
        // another lane has its own bound; a pending command with dependencies counts in its lane
        c.sendRaw({ type: "set", id: "c1", sessionId: "c", path: "/x", value: 1, dependsOn: ["h"], tags: ["gated"] });
        await c.waitFor((f) => f.type === "command_pending" && idOf(f) === "c1");
        await admitted(c, { type: "get_state", id: "c2", sessionId: "c", dependsOn: ["h"] });
        expect(await c.request({ type: "get_state", id: "c3", sessionId: "c", dependsOn: ["h"] })).toMatchObject({ code: "busy" });

        // once the dependency finishes the waiters run and the lane takes new ones again
        expect(await c.request({ type: "release", id: "rel", sessionId: "r", key: "dep" })).toMatchObject({ success: true });
        expect(await c.waitFor((f) => f.type === "response" && f.id === "a2")).toMatchObject({ success: true });
        expect(await c.waitFor((f) => f.type === "response" && f.id === "a6")).toMatchObject({ success: true, sessionVersion: 2 });
        c.sendRaw({ type: "hold", id: "h2", sessionId: "b", key: "dep2" });
        await c.waitFor((f) => f.type === "command_started" && idOf(f) === "h2");
        await admitted(c, { type: "get_state", id: "a7", sessionId: "a", dependsOn: ["h2"] });
        await admitted(c, { type: "get_state", id: "a8", sessionId: "a", dependsOn: ["h2"] });
        expect(await c.request({ type: "release", id: "rel2", sessionId: "r", key: "dep2" })).toMatchObject({ success: true });
        expect(await c.waitFor((f) => f.type === "response" && f.id === "a8")).toMatchObject({ success: true });
      } finally {
        expect((await server.stop()).code).toBe(0);
      }
    });
  }
});
