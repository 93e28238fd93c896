/**
 * Issue #15 item 2: the policy's role gates hold for every command type. With
 * `get_command_history`, `get_command`, `list_pending`, `subscribe`, `audit_journal` (operator
 * commands) and `emit` (a user-defined type) gated to `admin`, a token without roles used to read
 * other actors' commands (params included), subscribe to everything and run audits: operator
 * commands bypassed the policy. Since #14 every command type walks admission, where the gate is
 * checked — before replay too, so a stored outcome is never handed to an actor the gate refuses.
 * A policy that names a command type no module registers refuses the start.
 * Real servers: WebSocket with tokens, stdio with --local-roles.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CausewayClient } from "../helpers/ws-client.js";
import { runCli, tempDir, TEST_COMMANDS } from "../helpers/spawn.js";
import { startTransport } from "../helpers/transports.js";
import { send, startGoverned, type Governed } from "./harness.js";

const GATED = ["get_command_history", "get_command", "list_pending", "subscribe", "audit_journal", "emit"] as const;

function gatedPolicy(dir: string): string {
  const file = join(dir, "gates.json");
  writeFileSync(file, JSON.stringify({ version: 1, adminRoles: ["admin"], roles: Object.fromEntries(GATED.map((t) => [t, ["admin"]])) }));
  return file;
}

/** one command of each gated type, reading alice's `secret-write` */
const probes = (sid: string): Record<(typeof GATED)[number], Record<string, unknown>> => ({
  get_command_history: { type: "get_command_history", sessionIdFilter: sid },
  get_command: { type: "get_command", commandId: "secret-write" },
  list_pending: { type: "list_pending" },
  subscribe: { type: "subscribe", sessionId: sid },
  audit_journal: { type: "audit_journal", maxRows: 100 },
  emit: { type: "emit", sessionId: sid, payload: "hello" },
});

describe("#15.2 role gates for every command type (WebSocket, tokens)", () => {
  let g: Governed;
  let alice: CausewayClient;
  let dave: CausewayClient;

  beforeAll(async () => {
    const dir = tempDir("causeway-gates-");
    g = await startGoverned({ dir, policy: gatedPolicy(dir) });
    [alice, dave] = await Promise.all([g.connect("alice"), g.connect("dave")]);
    expect((await send(alice, { type: "create_session", id: "mk-g", sessionId: "g" })).success).toBe(true);
    expect((await send(alice, { type: "set", id: "secret-write", sessionId: "g", path: "/pin", value: "1234" })).success).toBe(true);
  });

  afterAll(async () => {
    await g?.stop();
  });

  it("#15.2 a token without roles is refused forbidden for get_command_history, get_command, list_pending, subscribe, audit_journal and a user-defined type, and nothing is journaled; the admin is served", async () => {
    for (const type of GATED) {
      const id = `dave-${type}`;
      const r = await send(dave, { ...probes("g")[type], id });
      expect(r, type).toMatchObject({ id, command: type, success: false, code: "forbidden" });
      expect(r.error, type).toBe(`dave may not submit ${type}: only admin may submit ${type} (policy rule roles.${type})`);
      expect(r.data, type).toBeUndefined();
      // refused before admission: no journal row, no lifecycle event
      expect((await send(alice, { type: "get_command", commandId: id })).data, type).toEqual({ found: false, commandId: id });
      expect(dave.frames.some((f) => (f.data as { commandId?: string } | undefined)?.commandId === id), type).toBe(false);
    }
    expect((await send(alice, { type: "get_command_history", actor: "dave" })).data.items).toEqual([]);
    // the admin is served; what dave was refused, alice reads: the write's params
    for (const type of GATED) {
      const r = await send(alice, { ...probes("g")[type], id: `alice-${type}` });
      expect(r, type).toMatchObject({ success: true });
    }
    const detail = await send(alice, { type: "get_command", commandId: "secret-write" });
    expect(detail.data.command.envelope).toMatchObject({ path: "/pin", value: "1234" });
    // the refused subscribe delivers nothing: alice's emit reached her subscription, not dave
    const event = await alice.waitFor((f) => f.type === "event" && f.sessionId === "g");
    expect(event).toMatchObject({ event: { kind: "note", payload: "hello" } });
    expect((await send(dave, { type: "health_check" })).success).toBe(true); // after anything sent to dave before it
    expect(dave.frames.some((f) => f.type === "event")).toBe(false);
  });

  it("#15.2 a replay by id or by idempotencyKey does not bypass the gate: the stored outcome of an admin's command is not handed to a token without the role", async () => {
    const first = await send(alice, { type: "get_command", id: "alice-read", commandId: "secret-write" });
    expect(first.data.command.envelope.value).toBe("1234");
    const byId = await send(dave, { type: "get_command", id: "alice-read", commandId: "secret-write" });
    expect(byId).toMatchObject({ id: "alice-read", success: false, code: "forbidden" });
    expect(byId.replayed).toBeUndefined();
    expect(JSON.stringify(byId)).not.toContain("1234");

    const keyed = await send(alice, { type: "get_command_history", idempotencyKey: "hist-key", sessionIdFilter: "g" });
    expect(keyed.data.items.length).toBeGreaterThan(0);
    const byKey = await send(dave, { type: "get_command_history", idempotencyKey: "hist-key", sessionIdFilter: "g" });
    expect(byKey).toMatchObject({ success: false, code: "forbidden" });
    expect(byKey.data).toBeUndefined();
    // the admin still replays her own
    expect(await send(alice, { type: "get_command", id: "alice-read", commandId: "secret-write" })).toMatchObject({ success: true, replayed: true });
  });
});

describe("#15.2 role gates over stdio", () => {
  it("#15.2 the stdio actor's roles (--local-roles) obey the same gates for operator and user-defined commands", async () => {
    const dir = tempDir("causeway-gates-stdio-");
    const server = await startTransport("stdio", { db: join(dir, "causeway.db"), args: ["--policy-file", gatedPolicy(dir), "--local-roles", "viewer"] });
    try {
      const c = server.client;
      expect((await c.request({ type: "create_session", sessionId: "g" })).success).toBe(true);
      expect((await c.request({ type: "set", id: "secret-write", sessionId: "g", path: "/pin", value: "1234" })).success).toBe(true);
      for (const type of GATED) {
        const r = await c.request({ ...probes("g")[type], id: `local-${type}` });
        expect(r, type).toMatchObject({ success: false, code: "forbidden", error: `local may not submit ${type}: only admin may submit ${type} (policy rule roles.${type})` });
      }
      // ungated operator commands still answer
      expect((await c.request({ type: "health_check" })).success).toBe(true);
    } finally {
      expect((await server.stop()).code).toBe(0);
    }
  });
});

describe("#15.2 a policy naming an unknown command type", () => {
  const serve = (dir: string, policy: object, extra: string[] = []) => {
    const file = join(dir, `policy-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(policy));
    return { file, run: runCli(["serve", "--db", join(dir, "causeway.db"), "--port", "0", "--policy-file", file, ...extra], { killAfterMs: 20_000 }) };
  };

  it("#15.2 a typo in a roles key or a rule's match.type refuses the start with one line naming the file, the JSON path and the type (exit 1, WebSocket and stdio)", async () => {
    const dir = tempDir("causeway-gates-unknown-");
    const policy = {
      version: 1,
      roles: { delete_sesion: ["admin"], get_state: ["reader"] },
      rules: [{ name: "frozen", match: { type: ["set", "pach"], sessionId: "frozen-*" }, effect: "deny", reason: "frozen" }],
    };
    for (const extra of [[], ["--stdio"]]) {
      const { file, run } = serve(dir, policy, extra);
      const r = await run;
      expect(r.code, extra.join(" ")).toBe(1);
      expect(r.stdout).toBe("");
      // one plain line (JSON log lines from before the check aside), no stack
      const lines = r.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("{"));
      expect(lines).toEqual([
        `causeway: policy file ${file}: /roles/delete_sesion: unknown command type "delete_sesion" (did you mean "delete_session"?); ` +
          `/rules/0/match/type/1: unknown command type "pach" (did you mean "patch"?); ` +
          "a policy names only registered command types (built-in, operator, or from --commands)",
      ]);
    }
  });

  it("#15.2 a user-defined type is known once its --commands module is loaded", async () => {
    const dir = tempDir("causeway-gates-user-");
    const policy = { version: 1, rules: [{ match: { type: "emit" }, effect: "require_approval", approvals: 1, approverRoles: ["approver"] }] };
    const refused = await serve(dir, policy, ["--stdio"]).run;
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^causeway: policy file .*: \/rules\/0\/match\/type: unknown command type "emit"; a policy names only registered/);
    const ok = serve(dir, policy, ["--stdio", "--commands", TEST_COMMANDS]);
    const started = await ok.run;
    expect(started.stderr).not.toContain("unknown command type");
    expect(started.code).toBe(0);
    expect(started.stdout).toContain('"type":"server_ready"');
  });
});
