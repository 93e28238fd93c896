/**
 * Issue #15.3: what an actor may read of other actors' commands, enforced in history,
 * get_command, live events and the subscribe {fromSeq} replay. With a tokens file: an actor reads
 * its own commands, every command with an admin or `auditor` role, and the commands of a session
 * the policy lets it read (it is not denied `get_state` there). Real server, real tokens.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CausewayClient, type Frame } from "../helpers/ws-client.js";
import { hashToken } from "../../src/auth/tokens.js";
import { spawnServer, tempDir, type SpawnedServer } from "../helpers/spawn.js";

type Data = Record<string, any>;
const TOKENS = { alice: `alice-${"a".repeat(40)}`, bob: `bob-${"b".repeat(40)}`, audra: `audra-${"c".repeat(40)}` };
const ROLES: Record<keyof typeof TOKENS, string[]> = { alice: ["admin"], bob: ["approver"], audra: ["auditor"] };

let server: SpawnedServer;
const c: Partial<Record<keyof typeof TOKENS, CausewayClient>> = {};

beforeAll(async () => {
  const dir = tempDir("causeway-vis-");
  const tokens = join(dir, "tokens.json");
  writeFileSync(tokens, JSON.stringify({ version: 1, tokens: Object.entries(TOKENS).map(([actor, t]) => ({ sha256: hashToken(t), actor, roles: ROLES[actor as keyof typeof TOKENS] })) }));
  const policy = join(dir, "policy.json");
  // nobody but an admin may read secret-* sessions
  writeFileSync(policy, JSON.stringify({ version: 1, adminRoles: ["admin"], rules: [{ name: "secrets", match: { type: "get_state", sessionId: "secret-*" }, effect: "deny", reason: "secret" }] }));
  server = await spawnServer({ db: join(dir, "causeway.db"), args: ["--tokens", tokens, "--policy-file", policy] });
  for (const who of Object.keys(TOKENS) as Array<keyof typeof TOKENS>) {
    c[who] = await CausewayClient.connect(server.url, { headers: { authorization: `Bearer ${TOKENS[who]}` } });
  }
  const alice = c.alice!;
  await alice.request({ id: "v-open", type: "create_session", sessionId: "open-v" });
  await alice.request({ id: "v-secret", type: "create_session", sessionId: "secret-v" });
  await alice.request({ id: "v-secret-w", type: "set", sessionId: "secret-v", path: "/pin", value: "1234" });
  await alice.request({ id: "v-server", type: "list_sessions" });
  await c.bob!.request({ id: "v-bob", type: "list_sessions" });
});

afterAll(async () => {
  for (const x of Object.values(c)) x?.terminate();
  await server?.stop();
});

const ids = (page: Data): string[] => (page.items as Array<{ commandId: string }>).map((i) => i.commandId);

describe("#15.3 read visibility across actors", () => {
  it("#15.3 get_command_history lists another actor's commands only where the viewer may read them", async () => {
    const bob = (await c.bob!.request({ type: "get_command_history", order: "oldest", limit: 500 })).data as Data;
    expect(ids(bob)).toContain("v-open");
    expect(ids(bob)).toContain("v-bob");
    for (const hidden of ["v-secret", "v-secret-w", "v-server"]) expect(ids(bob)).not.toContain(hidden);
    expect(JSON.stringify(bob)).not.toContain("1234");
    // filtering by the secret session shows nothing of it
    const filtered = (await c.bob!.request({ type: "get_command_history", sessionIdFilter: "secret-v" })).data as Data;
    expect(filtered.items).toEqual([]);
    // an admin and an auditor read everything
    for (const who of ["alice", "audra"] as const) {
      const all = (await c[who]!.request({ type: "get_command_history", order: "oldest", limit: 500 })).data as Data;
      for (const id of ["v-open", "v-secret", "v-secret-w", "v-server", "v-bob"]) expect(ids(all), `${who} ${id}`).toContain(id);
    }
  });

  it("#15.3 get_command of a command the viewer may not read answers found:false", async () => {
    expect((await c.bob!.request({ type: "get_command", commandId: "v-secret-w" })).data).toEqual({ found: false, commandId: "v-secret-w" });
    expect((await c.bob!.request({ type: "get_command", commandId: "v-open" })).data).toMatchObject({ found: true });
    expect((await c.audra!.request({ type: "get_command", commandId: "v-secret-w" })).data).toMatchObject({ found: true });
  });

  it("#15.3 subscribe {scope:'all', fromSeq: 0} replays only what the viewer may read, then live events the same way", async () => {
    const bob = c.bob!;
    const from = bob.frames.length;
    await bob.request({ id: "v-sub", type: "subscribe", scope: "all", fromSeq: 0 });
    await bob.waitFor((f) => f.type === "subscription_live", undefined, from);
    await c.alice!.request({ id: "v-secret-w2", type: "set", sessionId: "secret-v", path: "/pin", value: "5678" });
    await c.alice!.request({ id: "v-open-w2", type: "set", sessionId: "open-v", path: "/x", value: 1 });
    await bob.waitFor((f) => f.type === "command_finished" && (f.data as Data).commandId === "v-open-w2", undefined, from);
    const seen = new Set(bob.frames.slice(from).filter((f: Frame) => f.type.startsWith("command_")).map((f: Frame) => (f.data as Data).commandId as string));
    expect(seen.has("v-open")).toBe(true);
    for (const hidden of ["v-secret", "v-secret-w", "v-server", "v-secret-w2"]) expect(seen.has(hidden), hidden).toBe(false);
  });
});
