/**
 * Issue #19, the client commands against a governed server (tokens file + approval policy):
 * `history --command` shows approvers, decisions and comments (e), every client command takes
 * CAUSEWAY_TOKEN / --token and says what to do without one (f), and `history --status` accepts
 * every status the server filters by (g).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CausewayClient } from "../helpers/ws-client.js";
import { HISTORY_STATUSES } from "../../src/journal/queries.js";
import { IDENTITIES, send, sendPending, startGoverned, type Governed } from "../governance/harness.js";
import { runCli, type CliResult } from "../helpers/spawn.js";

let g: Governed;
let alice: CausewayClient;
let bob: CausewayClient;
let carol: CausewayClient;
let url: string;

const ALICE = { CAUSEWAY_TOKEN: IDENTITIES.alice.token, CAUSEWAY_URL: "" };
const lines = (s: string): string[] => s.split("\n").filter((l) => l.length > 0);
const asAlice = (args: string[]): Promise<CliResult> => runCli([...args, "--url", url], { env: ALICE });

beforeAll(async () => {
  g = await startGoverned();
  url = g.server.url;
  [alice, bob, carol] = await Promise.all([g.connect("alice"), g.connect("bob"), g.connect("carol")]);
  for (const sid of ["gov-e", "gov-g"]) expect((await send(alice, { type: "create_session", sessionId: sid, id: `create-${sid}` })).success).toBe(true);
});

afterAll(async () => {
  await g?.stop();
});

describe("#19 CLI finish: governed server", () => {
  it("#19.e history --command shows the approval steps, who approved, and every decision with its comment", async () => {
    const { response } = await sendPending(alice, { type: "delete_session", sessionId: "gov-e", id: "del-e" });
    expect((await send(bob, { type: "approve_command", commandId: "del-e", comment: "looks right" })).success).toBe(true);
    expect((await send(carol, { type: "reject_command", commandId: "del-e", reason: "not today" })).success).toBe(true);
    expect(await response).toMatchObject({ success: false, code: "rejected" });

    const r = await asAlice(["history", "--command", "del-e"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^status\s+rejected$/m);
    expect(r.stdout).toMatch(/^governance\s+revision \d+; policy sha256:/m);
    expect(r.stdout).toMatch(/^STEP\s+NAME\s+APPROVALS\s+ROLES\s+APPROVERS$/m);
    expect(r.stdout).toMatch(/^1\s+two-person delete\s+1 of 2\s+approver\s+bob$/m);
    // while pending, the open step is marked
    const { pending } = await sendPending(alice, { type: "set", sessionId: "gov-e", path: "/x", value: 1, tags: ["two-steps"], id: "two-e" });
    expect(pending.data).toMatchObject({ reason: "approval" });
    expect((await send(bob, { type: "approve_command", commandId: "two-e" })).success).toBe(true);
    const open = await asAlice(["history", "--command", "two-e"]);
    expect(open.stdout).toMatch(/^governance\s+revision \d+; policy sha256:\S+; tags two-steps; pending for approval, expires \S+Z$/m);
    expect(open.stdout).toMatch(/^1\s+review\s+1 of 1 \(done\)\s+approver\s+bob$/m);
    expect(open.stdout).toMatch(/^2\s+sign-off\s+0 of 1 \(open\)\s+admin\s+-$/m);
    expect(r.stdout).toMatch(/^SEQ\s+AT\s+DECISION\s+ACTOR\s+STEP\s+COMMENT$/m);
    expect(r.stdout).toMatch(/^\d+\s+\S+Z\s+approve\s+bob\s+1\s+looks right$/m);
    expect(r.stdout).toMatch(/^\d+\s+\S+Z\s+reject\s+carol\s+1\s+not today$/m);
    // an ungoverned command has no governance block
    const plain = await asAlice(["history", "--command", "create-gov-e"]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).not.toMatch(/governance|DECISION/);
  });

  it("#19.f send, history, tail and status take CAUSEWAY_TOKEN (and --token), and say what to do without a valid one", async () => {
    const runs: Array<[string, string[]]> = [
      ["send", ["send", '{"type":"health_check"}']],
      ["history", ["history", "--limit", "1"]],
      ["tail", ["tail", "--from-seq", "0", "--count", "1"]],
      ["status", ["status"]],
    ];
    for (const [label, args] of runs) {
      const byEnv = await runCli([...args, "--url", url], { env: ALICE });
      expect(byEnv.code, `${label}: ${byEnv.stderr}`).toBe(0);
      const byFlag = await runCli([...args, "--url", url, "--token", IDENTITIES.bob.token], { env: { CAUSEWAY_TOKEN: "" } });
      expect(byFlag.code, `${label}: ${byFlag.stderr}`).toBe(0);
      const none = await runCli([...args, "--url", url], { env: { CAUSEWAY_TOKEN: "" } });
      expect(none.code, label).toBe(1);
      expect(none.stderr, label).toMatch(/needs a token \(1008 unauthorized\): set CAUSEWAY_TOKEN/);
      const wrong = await runCli([...args, "--url", url], { env: { CAUSEWAY_TOKEN: "not-a-valid-token" } });
      expect(wrong.code, label).toBe(1);
      expect(wrong.stderr, label).toMatch(/refused the token \(1008 unauthorized\): check CAUSEWAY_TOKEN/);
      const help = await runCli([args[0]!, "--help"]);
      expect(help.stdout, label).toMatch(/--token <token>\s+bearer token .*prefer the\s+env var \(a flag shows in `ps`\)/s);
      expect(help.stdout, label).toMatch(/env: CAUSEWAY_TOKEN/);
    }
  });

  it("#19.g history --status accepts every status the server filters by, and lists pending, rejected, cancelled, superseded and expired commands", async () => {
    await sendPending(alice, { type: "delete_session", sessionId: "gov-g", id: "g-pending" });
    const cancelled = await sendPending(alice, { type: "set", sessionId: "gov-g", path: "/c", value: 1, tags: ["risk:high"], id: "g-cancelled" });
    expect((await send(alice, { type: "cancel_command", commandId: "g-cancelled", reason: "changed my mind" })).success).toBe(true);
    const replaced = await sendPending(alice, { type: "set", sessionId: "gov-g", path: "/s", value: 1, tags: ["risk:high"], id: "g-superseded" });
    await sendPending(alice, { type: "set", sessionId: "gov-g", path: "/s", value: 2, tags: ["risk:high"], id: "g-replacing", supersedes: "g-superseded" });
    const expiring = await sendPending(alice, { type: "set", sessionId: "gov-g", path: "/e", value: 1, tags: ["quick"], id: "g-expired" });
    expect(await cancelled.response).toMatchObject({ code: "cancelled" });
    expect(await replaced.response).toMatchObject({ code: "superseded" });
    expect(await expiring.response).toMatchObject({ code: "expired" });

    const expected: Record<string, string[]> = {
      pending: ["g-pending", "g-replacing"],
      rejected: ["del-e"],
      cancelled: ["g-cancelled"],
      superseded: ["g-superseded"],
      expired: ["g-expired"],
      succeeded: ["create-gov-e"],
    };
    for (const status of HISTORY_STATUSES) {
      const r = await asAlice(["history", "--status", status, "--json", "--limit", "1000"]);
      expect(r.code, `${status}: ${r.stderr}`).toBe(0);
      const items = lines(r.stdout).map((l) => JSON.parse(l) as { commandId: string; status: string });
      expect(items.every((i) => i.status === status), status).toBe(true);
      const ids = items.map((i) => i.commandId);
      for (const id of expected[status] ?? []) expect(ids, status).toContain(id);
    }
    const readable = await asAlice(["history", "--status", "superseded"]);
    expect(readable.stdout).toMatch(/superseded\s+set\s+gov-g\s+g-superseded\s+superseded: superseded by command g-replacing/);
    const bad = await asAlice(["history", "--status", "lost"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Allowed choices are succeeded, failed, .*superseded/);
  });
});
