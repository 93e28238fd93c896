/**
 * Issue #14 §3: who receives lifecycle events. Without authentication every client is the same
 * local actor and lifecycle events go to every connection, as pi-server broadcasts them; with
 * authentication a connection receives its own commands' events and those of sessions its actor
 * may read. `subscribe {lifecycle}` narrows or widens. Real server, several WebSocket clients.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CausewayClient, type Frame } from "../helpers/ws-client.js";
import { spawnServer, tempDir, type SpawnedServer } from "../helpers/spawn.js";
import { IDENTITIES, writeTokens, type Who } from "../governance/harness.js";

type Data = Record<string, any>;
const data = (f: Frame): Data => f.data as Data;
const seen = (c: CausewayClient, commandId: string): string[] =>
  c.frames.filter((f) => f.type.startsWith("command_") && data(f)?.commandId === commandId).map((f) => f.type);
/** resolves once `c` saw `probe` finish: everything published before it has been delivered to `c` */
const drained = (c: CausewayClient, probe: string): Promise<Frame> => c.waitFor((f) => f.type === "command_finished" && data(f).commandId === probe);

describe("#14 §3 without authentication", () => {
  let server: SpawnedServer;
  let actor: CausewayClient;
  let watcher: CausewayClient;

  beforeAll(async () => {
    server = await spawnServer();
    actor = await CausewayClient.connect(server.url);
    watcher = await CausewayClient.connect(server.url);
  });

  afterAll(async () => {
    await actor?.close();
    await watcher?.close();
    expect((await server?.stop())?.code).toBe(0);
  });

  it("#14.3 a passive connection receives every connection's lifecycle events, with dependsOn", async () => {
    await actor.request({ id: "ev-c", type: "create_session", sessionId: "ev" });
    await actor.request({ id: "ev-w", type: "set", sessionId: "ev", path: "/a", value: 1, dependsOn: ["ev-c"] });
    await actor.request({ id: "ev-l", type: "list_sessions" });
    await drained(watcher, "ev-l");
    for (const id of ["ev-c", "ev-w", "ev-l"]) expect(seen(watcher, id), id).toEqual(["command_accepted", "command_started", "command_finished"]);
    const fin = watcher.frames.find((f) => f.type === "command_finished" && data(f).commandId === "ev-w")!;
    expect(data(fin)).toMatchObject({ dependsOn: ["ev-c"], sessionId: "ev", success: true, sessionVersion: 1 });
    const list = watcher.frames.find((f) => f.type === "command_accepted" && data(f).commandId === "ev-l")!;
    expect(data(list).dependsOn).toEqual([]);
  });

  it("#14.3 subscribe {lifecycle} narrows to own or none and widens back to all", async () => {
    const own = await watcher.request({ type: "subscribe", lifecycle: "own" });
    expect(own).toMatchObject({ success: true, data: { subscriptions: { lifecycle: "own" } } });
    await actor.request({ id: "n-1", type: "list_sessions" });
    await watcher.request({ id: "n-mine", type: "list_sessions" });
    await drained(watcher, "n-mine");
    expect(seen(watcher, "n-1")).toEqual([]);
    // "own": the commands this connection sent (not those of its actor on other connections)
    expect(seen(watcher, "n-mine")).toEqual(["command_accepted", "command_started", "command_finished"]);

    await watcher.request({ type: "subscribe", lifecycle: "none" });
    await watcher.request({ id: "n-quiet", type: "list_sessions" });
    expect(seen(watcher, "n-quiet")).toEqual([]);

    await watcher.request({ type: "subscribe", lifecycle: "all" });
    await actor.request({ id: "n-2", type: "list_sessions" });
    await drained(watcher, "n-2");
    expect(seen(watcher, "n-2")).toEqual(["command_accepted", "command_started", "command_finished"]);
  });

  it("#14.3 an explicit session subscription still delivers that session's events under lifecycle none", async () => {
    await actor.request({ type: "create_session", sessionId: "ev-sub" });
    await watcher.request({ type: "subscribe", lifecycle: "none" });
    await watcher.request({ type: "switch_session", sessionId: "ev-sub" });
    await actor.request({ id: "sub-w", type: "set", sessionId: "ev-sub", path: "/a", value: 1 });
    await actor.request({ id: "sub-other", type: "list_sessions" });
    await drained(watcher, "sub-w");
    expect(seen(watcher, "sub-w")).toEqual(["command_accepted", "command_started", "command_finished"]);
    await watcher.request({ type: "subscribe", lifecycle: "all" });
  });

  it("#14.3 a deleted session is removed from every subscriber's set", async () => {
    await actor.request({ type: "create_session", sessionId: "ev-del" });
    expect((await watcher.request({ type: "switch_session", sessionId: "ev-del" })).success).toBe(true);
    expect((await watcher.request({ type: "subscribe", lifecycle: "all" })).data).toMatchObject({ subscriptions: { sessions: expect.arrayContaining(["ev-del"]) } });
    await actor.request({ type: "delete_session", sessionId: "ev-del" });
    await watcher.waitFor((f) => f.type === "session_deleted" && data(f).sessionId === "ev-del");
    const subs = (await watcher.request({ type: "subscribe", lifecycle: "all" })).data as Data;
    expect(subs.subscriptions.sessions).not.toContain("ev-del");
  });
});

describe("#14 §3 with authentication", () => {
  let server: SpawnedServer;
  const clients: Partial<Record<Who, CausewayClient>> = {};

  beforeAll(async () => {
    const dir = tempDir("causeway-events-");
    const policy = join(dir, "policy.json");
    // nobody but an admin may read secret-* sessions
    writeFileSync(policy, JSON.stringify({ version: 1, adminRoles: ["admin"], rules: [{ name: "secrets", match: { type: "get_state", sessionId: "secret-*" }, effect: "deny", reason: "secret" }] }));
    server = await spawnServer({ db: join(dir, "causeway.db"), args: ["--tokens", writeTokens(dir), "--policy-file", policy] });
    for (const who of ["alice", "bob", "dave"] as const) {
      clients[who] = await CausewayClient.connect(server.url, { headers: { authorization: `Bearer ${IDENTITIES[who].token}` } });
    }
  });

  afterAll(async () => {
    for (const c of Object.values(clients)) c?.terminate();
    await server?.stop();
  });

  it("#14.3 a connection receives its own commands' events and those of sessions its actor may read, nothing else", async () => {
    const alice = clients.alice!;
    const bob = clients.bob!;
    const dave = clients.dave!;
    await alice.request({ id: "a-open", type: "create_session", sessionId: "open-1" });
    await alice.request({ id: "a-secret", type: "create_session", sessionId: "secret-1" });
    await alice.request({ id: "a-server", type: "list_sessions" });
    await bob.request({ id: "b-own", type: "list_sessions" });
    // dave's own command comes last: once he saw it finish, everything before it was delivered
    await dave.request({ id: "d-own", type: "list_sessions" });
    await drained(dave, "d-own");
    await bob.request({ id: "b-last", type: "list_sessions" });
    await drained(bob, "b-last");
    const all = ["command_accepted", "command_started", "command_finished"];
    // a session anyone may read: everyone sees it
    expect(seen(bob, "a-open")).toEqual(all);
    expect(seen(dave, "a-open")).toEqual(all);
    // a secret session: only its actor (alice) — not bob, not dave
    expect(seen(alice, "a-secret")).toEqual(all);
    expect(seen(bob, "a-secret")).toEqual([]);
    expect(seen(dave, "a-secret")).toEqual([]);
    // another actor's server-lane command: not visible to non-admins
    expect(seen(bob, "a-server")).toEqual([]);
    expect(seen(dave, "b-own")).toEqual([]);
    // an admin sees everything
    await drained(alice, "b-last");
    expect(seen(alice, "b-own")).toEqual(all);
    expect(seen(alice, "d-own")).toEqual(all);
  });
});
