/**
 * Issue #15 item 8: stdin EOF must not drop answers. Piping create, a write and a
 * `cancel_command` and closing stdin at once used to apply the cancel without ever answering it,
 * and the server still exited 0. Every frame here is written and stdin closed in one go (as a
 * shell pipe does); stdout is collected until the process exits.
 *
 * A command *pending* approval at EOF is the documented exception (PROTOCOL.md, Transports):
 * it is not answered, stays pending in the journal, and a restart resumes it.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, tempDir, TEST_COMMANDS } from "../helpers/spawn.js";

type Frame = { type: string; id?: string; success?: boolean; code?: string; error?: string; data?: any };

/** writes on session gated-* need one approval; nobody on stdio holds `approver` */
function setup(): { db: string; policy: string } {
  const dir = tempDir("causeway-eof-");
  const policy = join(dir, "policy.json");
  writeFileSync(policy, JSON.stringify({ version: 1, rules: [{ name: "gated writes", match: { type: "set", sessionId: "gated-*" }, effect: "require_approval", approvals: 1, approverRoles: ["approver"] }] }));
  return { db: join(dir, "causeway.db"), policy };
}

/** `causeway serve --stdio` with every frame on stdin, closed at once; every stdout frame until exit */
async function pipeAll(db: string, policy: string, frames: object[]): Promise<{ code: number | null; frames: Frame[]; stderr: string }> {
  const stdin = frames.map((f) => JSON.stringify(f)).join("\n") + "\n";
  const r = await runCli(["serve", "--stdio", "--db", db, "--policy-file", policy, "--commands", TEST_COMMANDS, "--log-level", "warn"], { stdin, killAfterMs: 30_000 });
  return { code: r.code, frames: r.stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Frame), stderr: r.stderr };
}

const responses = (frames: Frame[]): Map<string, Frame> => new Map(frames.filter((f) => f.type === "response").map((f) => [f.id!, f]));

describe("#15.8 stdin EOF answers every admitted command", () => {
  it("#15.8 create, a write pending approval, its cancel_command and an audit_journal, piped with EOF at once: every frame is answered (the write cancelled, the cancel applied, the audit run) before exit 0", async () => {
    const { db, policy } = setup();
    const sent = [
      { type: "create_session", id: "c1", sessionId: "gated-1" },
      { type: "set", id: "w1", sessionId: "gated-1", path: "/a", value: 1 },
      { type: "cancel_command", id: "x1", commandId: "w1", reason: "changed my mind" },
      { type: "get_state", id: "r1", sessionId: "gated-1" },
      { type: "audit_journal", id: "a1" },
    ];
    const out = await pipeAll(db, policy, sent);
    expect(out.code, out.stderr).toBe(0);
    const answered = responses(out.frames);
    expect([...answered.keys()].sort()).toEqual(["a1", "c1", "r1", "w1", "x1"]);
    // admitted before EOF, so it runs (it used to be refused shutting_down when it started after EOF)
    expect(answered.get("a1")).toMatchObject({ success: true, data: { ok: true } });
    expect(answered.get("c1")).toMatchObject({ success: true });
    expect(answered.get("w1")).toMatchObject({ success: false, code: "cancelled", error: "cancelled by local: changed my mind" });
    expect(answered.get("x1")).toMatchObject({ success: true, data: { commandId: "w1", status: "cancelled" } });
    expect(answered.get("r1")).toMatchObject({ success: true, data: { state: {} }, sessionVersion: 0 });
  });

  it("#15.8 a cancel_command of a command queued behind a running one, piped with EOF at once, is applied and answered, and so is every other frame", async () => {
    const { db, policy } = setup();
    const sent = [
      { type: "create_session", id: "c-q", sessionId: "q" },
      { type: "create_session", id: "c-r", sessionId: "r" },
      // `hold` keeps lane session:q busy until `release`; w-q queues behind it
      { type: "hold", id: "h", sessionId: "q", key: "eof" },
      { type: "set", id: "w-q", sessionId: "q", path: "/never", value: true },
      { type: "cancel_command", id: "x-q", commandId: "w-q" },
      // released only once the cancel succeeded (another lane, so it never waits behind q)
      { type: "release", id: "rel", sessionId: "r", key: "eof", dependsOn: ["x-q"] },
      { type: "get_state", id: "read", sessionId: "q" },
    ];
    const out = await pipeAll(db, policy, sent);
    expect(out.code, out.stderr).toBe(0);
    const answered = responses(out.frames);
    expect([...answered.keys()].sort()).toEqual(sent.map((f) => f.id).sort());
    expect(answered.get("x-q")).toMatchObject({ success: true, data: { commandId: "w-q", status: "cancelled" } });
    expect(answered.get("w-q")).toMatchObject({ success: false, code: "cancelled" });
    expect(answered.get("h")).toMatchObject({ success: true, data: { released: "eof" } });
    expect(answered.get("rel")).toMatchObject({ success: true });
    // the cancelled write never ran: the state is the hold's alone
    expect(answered.get("read")).toMatchObject({ success: true, data: { state: { holding: "eof", released: "eof" } }, sessionVersion: 1 });
  });

  it("#15.8 a command pending approval at EOF is not answered and stays pending; after a restart a re-send of its id attaches to it and is answered when cancel_command ends it", async () => {
    const { db, policy } = setup();
    const first = await pipeAll(db, policy, [
      { type: "create_session", id: "c1", sessionId: "gated-2" },
      { type: "set", id: "p1", sessionId: "gated-2", path: "/a", value: 1 },
      { type: "get_state", id: "r1", sessionId: "gated-2" },
    ]);
    expect(first.code, first.stderr).toBe(0);
    expect([...responses(first.frames).keys()].sort()).toEqual(["c1", "r1"]);
    // the client learned that p1 is pending from its command_pending event
    expect(first.frames.find((f) => f.type === "command_pending")?.data).toMatchObject({ commandId: "p1", reason: "approval", status: "pending" });

    const second = await pipeAll(db, policy, [
      { type: "get_command", id: "g1", commandId: "p1" },
      { type: "set", id: "p1", sessionId: "gated-2", path: "/a", value: 1 },
      { type: "cancel_command", id: "x1", commandId: "p1" },
    ]);
    expect(second.code, second.stderr).toBe(0);
    const recovery = second.frames.find((f) => f.type === "startup_recovery_summary");
    expect(recovery?.data.pending).toMatchObject({ count: 1, ids: ["p1"] });
    const answered = responses(second.frames);
    expect([...answered.keys()].sort()).toEqual(["g1", "p1", "x1"]);
    expect(answered.get("g1")?.data.command).toMatchObject({ status: "pending" });
    expect(answered.get("x1")).toMatchObject({ success: true, data: { status: "cancelled" } });
    expect(answered.get("p1")).toMatchObject({ success: false, code: "cancelled", replayed: true });
  });
});
