/**
 * Issue #3: fail closed when a journal transaction fails (fault hook: the Nth commit fails).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { defineCommand } from "../../src/commands/define.js";
import { barrierCommands } from "../helpers/barrier.js";
import { startInProc, type InProc } from "../helpers/inproc.js";

let server: InProc | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

function dbFile(): string {
  return join(mkdtempSync(join(tmpdir(), "causeway-jf-")), "journal.db");
}

describe("journal write failure", () => {
  it("a failed commit acknowledges nothing, loses nothing acknowledged, and the server keeps serving reads", async () => {
    const db = dbFile();
    // commit #1 create, #2 first set, #3 second set (fails)
    server = startInProc({ config: { db, faultFailCommit: 3, faultFailCount: 1 } });
    const c = server.connect();
    expect((await c.request({ type: "create_session", id: "create", sessionId: "s" })).success).toBe(true);
    const ok = await c.request({ type: "set", id: "ok", sessionId: "s", path: "/a", value: 1 });
    expect(ok).toMatchObject({ success: true, sessionVersion: 1 });
    const lost = await c.request({ type: "set", id: "lost", sessionId: "s", path: "/a", value: 2 });
    expect(lost).toMatchObject({ success: false, code: "journal_unavailable" });
    // no lifecycle event of the failed batch was published
    expect(c.lifecycle("lost")).toEqual([]);
    // reads work and see only acknowledged state
    const read = await c.request({ type: "get_state", id: "read", sessionId: "s" });
    expect(read).toMatchObject({ success: true, sessionVersion: 1, data: { state: { a: 1 } } });
    const health = await c.request({ type: "health_check" });
    expect(health.data.journal.failures).toBe(1);
    expect(health.data.journal.healthy).toBe(true);
    // the forgotten command can be sent again and now executes
    const retry = await c.request({ type: "set", id: "lost", sessionId: "s", path: "/a", value: 2 });
    expect(retry).toMatchObject({ success: true, sessionVersion: 2 });
    // the acknowledged outcomes replay
    expect(await c.request({ type: "set", id: "ok", sessionId: "s", path: "/a", value: 1 })).toMatchObject({ replayed: true, sessionVersion: 1 });
    await server.stop();
    server = undefined;
    const rows = new Database(db, { readonly: true }).prepare("SELECT command_id, phase FROM journal ORDER BY seq").all() as Array<{ command_id: string; phase: string }>;
    expect(rows.filter((r) => r.command_id === "lost").map((r) => r.phase)).toEqual(["accepted", "started", "finished"]);
  });

  it("a command whose accepted row was durable gets a terminal journal_unavailable row; its key is released", async () => {
    const { commands, release } = barrierCommands();
    const db = dbFile();
    // #1 create, #2 hold accepted+started, #3 hold finished (fails)
    server = startInProc({ config: { db, faultFailCommit: 3, faultFailCount: 1 }, commands });
    const c = server.connect();
    await c.request({ type: "create_session", sessionId: "s" });
    const held = c.request({ type: "hold", id: "h", sessionId: "s", key: "k", idempotencyKey: "idem" });
    await c.waitFor((f) => f.type === "command_started" && f.data.commandId === "h");
    release("k");
    expect(await held).toMatchObject({ success: false, code: "journal_unavailable" });
    // the repair row is committed with the next batch; then the id replays the failure
    const again = await c.request({ type: "hold", id: "h", sessionId: "s", key: "k", idempotencyKey: "idem" });
    expect(again).toMatchObject({ replayed: true, code: "journal_unavailable" });
    // ...but the idempotency key was released: a retry under a new id executes
    const retried = await c.request({ type: "hold", id: "h2", sessionId: "s", key: "k", idempotencyKey: "idem" });
    expect(retried).toMatchObject({ success: true, sessionVersion: 1 });
    const read = await c.request({ type: "get_state", sessionId: "s" });
    expect(read.data.state).toEqual({ held: "k" });
    await server.stop();
    server = undefined;
    const sqlite = new Database(db, { readonly: true });
    const rows = sqlite.prepare("SELECT phase FROM journal WHERE command_id = 'h' ORDER BY seq").all() as Array<{ phase: string }>;
    expect(rows.map((x) => x.phase)).toEqual(["accepted", "started", "finished", "replayed"]);
    const terminal = sqlite.prepare("SELECT status FROM commands WHERE command_id = 'h'").get() as { status: string };
    expect(terminal.status).toBe("failed");
  });

  it("a command pending its schedule that fails with the batch leaves the pending set (pending count, drain)", async () => {
    const db = dbFile();
    // #1 create, #2 the scheduled set (accepted + pending), #3 the next set (fails)
    server = startInProc({ config: { db, faultFailCommit: 3, faultFailCount: 1 } });
    const c = server.connect();
    await c.request({ type: "create_session", sessionId: "s" });
    const scheduled = c.request({ type: "set", id: "later", sessionId: "s", path: "/a", value: 1, notBefore: Date.now() + 3_600_000 });
    await c.waitFor((f) => f.type === "command_pending" && f.data.commandId === "later");
    expect(server.engine.stats().pending).toBe(1);
    expect(await c.request({ type: "set", id: "lost", sessionId: "s", path: "/b", value: 1 })).toMatchObject({ success: false, code: "journal_unavailable" });
    expect(await scheduled).toMatchObject({ success: false, code: "journal_unavailable" });
    expect(server.engine.stats().pending).toBe(0);
    // nothing is in flight any more: a drain ends at once instead of waiting out its timeout
    expect(await server.engine.drain(60_000)).toBe(true);
  });

  it("#15.20 a handler waiting for its started row (traceStarts) is dropped when that commit fails: one failure, no cascade", async () => {
    const db = dbFile();
    // with traceStarts every command commits twice: #1-#2 create, #3-#4 "ok", #5 "lost" accepted+started (fails)
    server = startInProc({ config: { db, faultFailCommit: 5, faultFailCount: 1, traceStarts: true } });
    const c = server.connect();
    expect((await c.request({ type: "create_session", id: "create", sessionId: "s" })).success).toBe(true);
    expect(await c.request({ type: "set", id: "ok", sessionId: "s", path: "/a", value: 1 })).toMatchObject({ success: true, sessionVersion: 1 });
    expect(await c.request({ type: "set", id: "lost", sessionId: "s", path: "/a", value: 2 })).toMatchObject({ success: false, code: "journal_unavailable" });
    // the handler never ran and nothing was appended for a command the journal never heard of:
    // the next commit succeeds (before, a finished row for "lost" failed it again: "unknown command")
    expect(await c.request({ type: "get_state", id: "read", sessionId: "s" })).toMatchObject({ success: true, sessionVersion: 1, data: { state: { a: 1 } } });
    expect((await c.request({ type: "health_check" })).data.journal).toMatchObject({ healthy: true, failures: 1 });
    expect(await c.request({ type: "set", id: "lost", sessionId: "s", path: "/a", value: 2 })).toMatchObject({ success: true, sessionVersion: 2 });
  });

  it("#15.20 a non-deterministic handler whose accepted + started batch fails is dropped the same way (no second failure)", async () => {
    const nd = defineCommand({ type: "nd", scope: "session", effect: "write", run: (ctx) => void (ctx.state.x = 1) });
    // #1 create (one batch), #2 nd accepted+started (fails)
    server = startInProc({ config: { db: dbFile(), faultFailCommit: 2, faultFailCount: 1 }, commands: [nd] });
    const c = server.connect();
    expect((await c.request({ type: "create_session", sessionId: "s" })).success).toBe(true);
    expect(await c.request({ type: "nd", id: "lost", sessionId: "s" })).toMatchObject({ success: false, code: "journal_unavailable" });
    expect(await c.request({ type: "get_state", sessionId: "s" })).toMatchObject({ success: true, sessionVersion: 0, data: { state: {} } });
    expect((await c.request({ type: "health_check" })).data.journal).toMatchObject({ healthy: true, failures: 1 });
  });

  it("while commits keep failing, every command fails with journal_unavailable, health_check included (it is journaled too)", async () => {
    server = startInProc({ config: { faultFailCommit: 2, faultFailCount: 1_000_000 } });
    const c = server.connect();
    await c.request({ type: "create_session", sessionId: "s" });
    const r = await c.request({ type: "set", sessionId: "s", path: "/a", value: 1 });
    expect(r.code).toBe("journal_unavailable");
    const h = await c.request({ type: "health_check" });
    expect(h).toMatchObject({ success: false, code: "journal_unavailable" });
    expect(server.engine.stats().commits.degraded).toBe(true);
    expect(server.engine.stats().commits.lastError).toMatch(/injected/);
  });

  it("health_check reports the failed commits once the journal commits again", async () => {
    server = startInProc({ config: { faultFailCommit: 2, faultFailCount: 1 } });
    const c = server.connect();
    await c.request({ type: "create_session", sessionId: "s" });
    const r = await c.request({ type: "set", sessionId: "s", path: "/a", value: 1 });
    expect(r.code).toBe("journal_unavailable");
    const h = await c.request({ type: "health_check" });
    expect(h.success).toBe(true);
    expect(h.data.journal.failures).toBe(1);
    expect(h.data.journal.lastError).toMatch(/injected/);
  });
});
