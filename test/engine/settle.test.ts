/**
 * #16: every rule of src/lifecycle/settle.ts end to end through the engine (in process, a real
 * SQLite journal): what each handler result or error answers and what it journals as the session
 * effect, and that every failure the engine gives without running the handler is one of
 * PRECONDITION_CODES (the audit trusts that list not to re-run them). The commands and the sequence
 * are those of fixtures/traces/settle.jsonl (scripts/make-trace-fixtures.mjs, settle run), which
 * test/audit/settle-fixture.test.ts audits. A failed journal commit (fault hook) gives the
 * journal_unavailable verdict; the governance verdicts and recovery's interrupted verdict come from
 * the real server (a governed run, kill -9 and a restart).
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineCommand } from "../../src/commands/define.js";
import { DEFAULT_LIMITS } from "../../src/config/defaults.js";
import { PRECONDITION_CODES } from "../../src/lifecycle/settle.js";
import { CausewayError, OutcomeError } from "../../src/protocol/errors.js";
import { settleRuleCommands } from "../../fixtures/commands/settle-rules.mjs";
import { barrierCommands } from "../helpers/barrier.js";
import { startInProc } from "../helpers/inproc.js";
import { tempDir } from "../journal/helpers.js";
import { send, sendPending, startGoverned } from "../governance/harness.js";
import { spawnServer } from "../helpers/spawn.js";

type Frame = Record<string, any>;
type Row = { command_id: string; phase: string; outcome: string | null; effect: string | null };

function readJournal(path: string): Row[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare("SELECT command_id, phase, outcome, effect FROM journal ORDER BY seq").all() as Row[];
  } finally {
    db.close();
  }
}

/** [commandId, code] of every finished row whose command has no started row. */
function unstartedFailures(rows: Row[]): Array<[string, string | undefined]> {
  const started = new Set(rows.filter((r) => r.phase === "started").map((r) => r.command_id));
  return rows.filter((r) => r.phase === "finished" && !started.has(r.command_id)).map((r) => [r.command_id, (JSON.parse(r.outcome!) as { code?: string }).code]);
}

const { dir, cleanup } = tempDir("causeway-engine-settle-");
const DB = join(dir, "journal.db");
const responses = new Map<string, Frame>();
let rows: Row[] = [];

/** The outcome fields of a response (absent ones left out). */
function outcome(id: string): Record<string, unknown> {
  const r = responses.get(id);
  if (!r) throw new Error(`no response to ${id}`);
  const out: Record<string, unknown> = {};
  for (const k of ["command", "success", "code", "data", "sessionVersion"]) if (r[k] !== undefined) out[k] = r[k];
  return out;
}

/** The session effect journaled with a command's finished row (null: none). */
function effect(id: string): unknown {
  const row = rows.find((r) => r.command_id === id && r.phase === "finished");
  if (!row) throw new Error(`no finished row for ${id}`);
  return row.effect === null ? null : JSON.parse(row.effect);
}

const started = (id: string): boolean => rows.some((r) => r.command_id === id && r.phase === "started");

afterAll(cleanup);

describe("#16 the settle rule through the engine", () => {
  beforeAll(async () => {
    const barrier = barrierCommands();
    const commands = [...settleRuleCommands({ defineCommand, CausewayError, OutcomeError }), ...barrier.commands];
    const server = startInProc({ config: { db: DB, durability: "off", dependencyWaitMs: 50, limits: { ...DEFAULT_LIMITS, maxStateBytes: 200 } }, commands });
    const c = server.connect();
    const send = async (cmd: Frame): Promise<void> => {
      responses.set(cmd.id as string, await c.request(cmd));
    };
    for (const cmd of [
      { type: "create_session", id: "s-create", sessionId: "s", state: { n: 0 } },
      { type: "set", id: "s-write-1", sessionId: "s", path: "/n", value: 1 },
      { type: "set", id: "s-write-2", sessionId: "s", path: "/n", value: 2 },
      { type: "get_state", id: "s-read", sessionId: "s" },
      { type: "peek_target", id: "s-peek", sessionId: "s" },
      { type: "list_sessions", id: "s-list" },
      { type: "bad_output", id: "s-bad-output", sessionId: "s" },
      { type: "set", id: "s-too-large", sessionId: "s", path: "/big", value: "x".repeat(300) },
      { type: "throw_code", id: "s-code-declared", sessionId: "s", code: "quota_spent", message: "declared" },
      { type: "throw_code", id: "s-code-handler", sessionId: "s", code: "patch_failed", message: "a handler code" },
      { type: "throw_code", id: "s-code-reserved", sessionId: "s", code: "timeout", message: "reserved" },
      { type: "throw_code", id: "s-code-undeclared", sessionId: "s", code: "not_declared", message: "undeclared" },
      { type: "throw_code", id: "s-code-plain", sessionId: "s", message: "plain" },
      { type: "refuse_outcome", id: "s-outcome", sessionId: "s" },
      { type: "create_session", id: "s-exists", sessionId: "s" },
      { type: "set", id: "s-stale", sessionId: "s", path: "/n", value: 9, ifSessionVersion: 0 },
      { type: "get_state", id: "x-missing", sessionId: "nope" },
      { type: "set", id: "s-dep-unknown", sessionId: "s", path: "/d", value: 1, dependsOn: ["no-such-command"] },
      { type: "set", id: "s-dep-failed", sessionId: "s", path: "/d", value: 1, dependsOn: ["s-code-plain"] },
    ]) await send(cmd);
    // a command queued behind a running hold times out before it starts; the hold then times out too
    const holdStarted = c.waitFor((f) => f.type === "command_started" && f.data?.commandId === "s-hold");
    const hold = c.request({ type: "hold", id: "s-hold", sessionId: "s", key: "never", timeoutMs: 400 });
    await holdStarted;
    await send({ type: "set", id: "s-queued-timeout", sessionId: "s", path: "/late", value: 1, timeoutMs: 30 });
    responses.set("s-hold", await hold);
    for (const cmd of [
      { type: "create_session", id: "t-create", sessionId: "t" },
      { type: "delete_session", id: "t-delete", sessionId: "t" },
      { type: "set", id: "s-write-3", sessionId: "s", path: "/n", value: 3 },
      { type: "create_session", id: "u-create", sessionId: "u" },
    ]) await send(cmd);
    // s-dep-timeout waits (dependencyWaitMs 50) for u-dep, queued behind a hold that is released later
    const uStarted = c.waitFor((f) => f.type === "command_started" && f.data?.commandId === "u-hold");
    const uHold = c.request({ type: "hold", id: "u-hold", sessionId: "u", key: "u-gate" });
    await uStarted;
    const uDep = c.request({ type: "set", id: "u-dep", sessionId: "u", path: "/x", value: 1 });
    await c.waitFor((f) => f.type === "command_accepted" && f.data?.commandId === "u-dep");
    await send({ type: "set", id: "s-dep-timeout", sessionId: "s", path: "/d", value: 1, dependsOn: ["u-dep"] });
    barrier.release("u-gate");
    expect((await uHold).success && (await uDep).success).toBe(true);
    await server.stop();
    rows = readJournal(DB);
  });

  it("#16 a session write answers the next version and journals a write effect at that version", () => {
    expect(outcome("s-write-1")).toEqual({ command: "set", success: true, data: { path: "/n" }, sessionVersion: 1 });
    expect(effect("s-write-1")).toEqual({ kind: "write", sessionId: "s", state: { n: 1 }, version: 1 });
    expect(outcome("s-write-2")).toEqual({ command: "set", success: true, data: { path: "/n" }, sessionVersion: 2 });
    expect(effect("s-write-2")).toEqual({ kind: "write", sessionId: "s", state: { n: 2 }, version: 2 });
    expect(outcome("s-write-3")).toEqual({ command: "set", success: true, data: { path: "/n" }, sessionVersion: 3 });
  });

  it("#16 a session read answers the session's current version and journals no effect", () => {
    expect(outcome("s-read")).toEqual({ command: "get_state", success: true, data: { state: { n: 2 } }, sessionVersion: 2 });
    expect(effect("s-read")).toBeNull();
  });

  it("#16 a server command: create → version 0, delete → none, another target → its current version, no target → none", () => {
    expect(outcome("s-create")).toMatchObject({ command: "create_session", success: true, sessionVersion: 0 });
    expect(effect("s-create")).toMatchObject({ kind: "create", sessionId: "s", state: { n: 0 }, version: 0 });
    expect(outcome("t-create")).toMatchObject({ success: true, sessionVersion: 0 });
    expect(outcome("t-delete")).toEqual({ command: "delete_session", success: true, data: { deleted: true, sessionId: "t" } });
    expect(effect("t-delete")).toEqual({ kind: "delete", sessionId: "t" });
    expect(outcome("s-peek")).toEqual({ command: "peek_target", success: true, data: { target: "s", exists: true }, sessionVersion: 2 });
    expect(effect("s-peek")).toBeNull();
    expect(outcome("s-list")).not.toHaveProperty("sessionVersion");
    expect(outcome("s-list")).toMatchObject({ command: "list_sessions", success: true, data: { count: 1 } });
  });

  it("#16 an output the rule refuses fails with the refusal's code and the session's version; nothing is journaled as effect", () => {
    expect(outcome("s-bad-output")).toEqual({ command: "bad_output", success: false, code: "handler_error", sessionVersion: 2 });
    expect(responses.get("s-bad-output")!.error).toBe("the handler's result is not JSON: NaN at /ratio");
    expect(effect("s-bad-output")).toBeNull();
    expect(outcome("s-too-large")).toEqual({ command: "set", success: false, code: "state_too_large", sessionVersion: 2 });
    expect(effect("s-too-large")).toBeNull();
  });

  it("#16 an OutcomeError answers its whole outcome, renamed to the command, with the session's version", () => {
    expect(outcome("s-outcome")).toEqual({ command: "refuse_outcome", success: false, code: "transition_conflict", data: { status: "running", revision: 2 }, sessionVersion: 2 });
    expect(responses.get("s-outcome")!.error).toBe("the target moved on");
  });

  it("#16 thrown codes: declared and handler codes kept; reserved, undeclared and plain errors become handler_error", () => {
    const failed = (code: string) => ({ command: "throw_code", success: false, code, sessionVersion: 2 });
    expect(outcome("s-code-declared")).toEqual(failed("quota_spent"));
    expect(outcome("s-code-handler")).toEqual(failed("patch_failed"));
    expect(outcome("s-code-reserved")).toEqual(failed("handler_error"));
    expect(responses.get("s-code-reserved")!.error).toBe('handler failed with code "timeout", which is reserved for the engine: reserved');
    expect(outcome("s-code-undeclared")).toEqual(failed("handler_error"));
    expect(outcome("s-code-plain")).toEqual(failed("handler_error"));
    expect(responses.get("s-code-plain")!.error).toBe("plain");
  });

  it("#16 a session command's failure names the session's version; a server command's names none", () => {
    for (const id of ["s-code-plain", "s-stale", "s-dep-unknown", "s-dep-failed", "s-queued-timeout", "s-hold"]) expect(outcome(id).sessionVersion, id).toBe(2);
    expect(outcome("s-dep-timeout")).toEqual({ command: "set", success: false, code: "dependency_timeout", sessionVersion: 3 });
    expect(outcome("s-exists")).toEqual({ command: "create_session", success: false, code: "session_exists" });
    expect(outcome("x-missing")).toEqual({ command: "get_state", success: false, code: "session_not_found" });
  });

  it("#16 every failure the engine gives without running the handler is one of PRECONDITION_CODES", () => {
    const unstarted = unstartedFailures(rows);
    expect(unstarted).toEqual([
      ["s-stale", "version_conflict"],
      ["x-missing", "session_not_found"],
      ["s-dep-unknown", "dependency_unknown"],
      ["s-dep-failed", "dependency_failed"],
      ["s-queued-timeout", "timeout"],
      ["s-dep-timeout", "dependency_timeout"],
    ]);
    for (const [id, code] of unstarted) expect(PRECONDITION_CODES.has(code!), `${id}: ${code}`).toBe(true);
    // the handler ran for every other outcome, the engine's own timeout of a running one included
    expect(started("s-hold") && outcome("s-hold").code === "timeout").toBe(true);
  });
});

describe("#16 the settle rule through the engine: a failed journal commit", () => {
  it("#16 journal_unavailable is a PRECONDITION_CODE: a queued command failed by a failed commit never ran", async () => {
    const path = join(dir, "repair.db");
    const barrier = barrierCommands();
    // commit #1 create, #2 the hold (accepted + started), #3 the queued set (accepted), #4 x-lost (fails)
    const server = startInProc({ config: { db: path, durability: "off", faultFailCommit: 4, faultFailCount: 1 }, commands: barrier.commands });
    const c = server.connect();
    expect((await c.request({ type: "create_session", id: "s-create", sessionId: "s" })).success).toBe(true);
    const holding = c.waitFor((f) => f.type === "command_started" && f.data?.commandId === "s-repair-hold");
    const hold = c.request({ type: "hold", id: "s-repair-hold", sessionId: "s", key: "never" });
    await holding;
    const accepted = c.waitFor((f) => f.type === "command_accepted" && f.data?.commandId === "s-repair-queued");
    const queued = c.request({ type: "set", id: "s-repair-queued", sessionId: "s", path: "/r", value: 1 });
    await accepted;
    expect((await c.request({ type: "get_state", id: "x-lost", sessionId: "nope" })).code).toBe("journal_unavailable");
    expect([(await hold).code, (await queued).code]).toEqual(["journal_unavailable", "journal_unavailable"]);
    await server.stop();
    const unstarted = unstartedFailures(readJournal(path));
    expect(unstarted).toEqual([["s-repair-queued", "journal_unavailable"]]);
    for (const [id, code] of unstarted) expect(PRECONDITION_CODES.has(code!), `${id}: ${code}`).toBe(true);
  });
});

describe("#16 the settle rule through the real server: governance and recovery verdicts", () => {
  it("#16 rejected, cancelled, expired, superseded and recovery's interrupted are PRECONDITION_CODES: the handler never ran", async () => {
    const g = await startGoverned();
    try {
      const alice = await g.connect("alice");
      const bob = await g.connect("bob");
      expect((await send(alice, { type: "create_session", id: "g-create", sessionId: "g" })).success).toBe(true);
      const write = (id: string, tags: string[], extra: Record<string, unknown> = {}) => ({ type: "set", id, sessionId: "g", path: `/${id}`, value: 1, tags, ...extra });
      const rejected = await sendPending(alice, write("g-rejected", ["risk:high"]));
      await send(bob, { type: "reject_command", commandId: "g-rejected", reason: "not today" });
      expect((await rejected.response).code).toBe("rejected");
      const cancelled = await sendPending(bob, write("g-cancelled", ["risk:high"]));
      await send(alice, { type: "cancel_command", commandId: "g-cancelled", reason: "cleanup" });
      expect((await cancelled.response).code).toBe("cancelled");
      const expired = await sendPending(bob, write("g-expired", ["quick"]));
      expect((await expired.response).code).toBe("expired");
      const old = await sendPending(bob, write("g-old", ["risk:high"]));
      await sendPending(bob, write("g-new", ["risk:high"], { supersedes: "g-old" }));
      expect((await old.response).code).toBe("superseded");
      // kill -9 with a hold running and a command queued behind it; the restart fails the queued one
      const holding = alice.waitFor((f) => f.type === "command_started" && (f.data as { commandId?: string }).commandId === "g-hold");
      alice.request({ type: "hold", id: "g-hold", sessionId: "g", key: "never" }).catch(() => {});
      await holding;
      const queued = alice.waitFor((f) => f.type === "command_accepted" && (f.data as { commandId?: string }).commandId === "g-queued");
      alice.request({ type: "set", id: "g-queued", sessionId: "g", path: "/q", value: 1 }).catch(() => {});
      await queued;
      await g.server.stop("SIGKILL");
      // recovery journals its verdicts before the server listens
      const again = await spawnServer({ db: g.db, args: [...g.args, "--fail-unstarted-on-recovery"] });
      expect(await again.stop()).toEqual({ code: 0, signal: null });
    } finally {
      await g.stop();
    }
    const unstarted = unstartedFailures(readJournal(g.db));
    expect(unstarted).toEqual([
      ["g-rejected", "rejected"],
      ["g-cancelled", "cancelled"],
      ["g-expired", "expired"],
      ["g-old", "superseded"],
      ["g-queued", "interrupted"],
    ]);
    for (const [id, code] of unstarted) expect(PRECONDITION_CODES.has(code!), `${id}: ${code}`).toBe(true);
  });
});
