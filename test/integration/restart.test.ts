/**
 * Restart semantics over the real process: state, versions and idempotency keys survive; a second
 * server on the same file refuses; SIGTERM broadcasts server_shutdown, drains and exits 0.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CausewayClient } from "../helpers/ws-client.js";
import { runServerToExit, spawnServer, tempDir } from "../helpers/spawn.js";

describe("restart", () => {
  it("preserves session state, versions and idempotency keys; retries after restart execute nothing new", async () => {
    const db = join(tempDir(), "journal.db");
    const s1 = await spawnServer({ db });
    const c1 = await CausewayClient.connect(s1.url);
    const created = await c1.request({ type: "create_session", sessionId: "s" });
    const { createdAt, createdAtMs } = (created.data as { sessionInfo: { createdAt: string; createdAtMs: number } }).sessionInfo;
    const first = await c1.request({ type: "set", sessionId: "s", path: "/a", value: 1, idempotencyKey: "pay-1" });
    await c1.request({ type: "set", sessionId: "s", path: "/b", value: 2 });
    await c1.close();
    expect((await s1.stop("SIGKILL")).signal).toBe("SIGKILL");

    const s2 = await spawnServer({ db });
    const c2 = await CausewayClient.connect(s2.url);
    const retry = await c2.request({ type: "set", sessionId: "s", path: "/a", value: 1, idempotencyKey: "pay-1" });
    expect(retry).toMatchObject({ replayed: true, success: true, sessionVersion: first.sessionVersion });
    const read = await c2.request({ type: "get_state", sessionId: "s" });
    expect(read).toMatchObject({ sessionVersion: 2, data: { state: { a: 1, b: 2 } } });
    // createdAt is what create_session answered, before and after the restart
    expect((await c2.request({ type: "list_sessions" })).data).toMatchObject({ sessions: [{ sessionId: "s", createdAt, createdAtMs }] });
    // a stale version from before the restart cannot match again
    const stale = await c2.request({ type: "set", sessionId: "s", path: "/c", value: 3, ifSessionVersion: 0 });
    expect(stale).toMatchObject({ code: "version_conflict", sessionVersion: 2 });

    // a second server on the same file refuses, naming the holder
    const second = await runServerToExit({ db });
    expect(second.code).not.toBe(0);
    expect(second.stderr).toMatch(new RegExp(`in use by pid ${s2.proc.pid}`));

    const shutdown = c2.waitFor((f) => f.type === "server_shutdown");
    const exit = s2.stop("SIGTERM");
    expect((await shutdown).data).toMatchObject({ reason: "SIGTERM" });
    expect((await exit).code).toBe(0);
  });

  it("SIGTERM refuses new commands, lets the command in flight finish and answers it, then exits 0", async () => {
    const db = join(tempDir(), "journal.db");
    const s = await spawnServer({ db });
    const c = await CausewayClient.connect(s.url);
    await c.request({ type: "create_session", sessionId: "s" });
    // never released: it ends by its own timeout, inside the shutdown grace period
    const held = c.request({ type: "hold", id: "h", sessionId: "s", key: "drain", timeoutMs: 500 });
    await c.waitFor((f) => f.type === "command_started" && (f.data as any).commandId === "h");
    s.proc.kill("SIGTERM");
    await c.waitFor((f) => f.type === "server_shutdown");
    const refused = await c.request({ type: "get_state", sessionId: "s" });
    expect(refused).toMatchObject({ success: false, code: "shutting_down" });
    expect(await held).toMatchObject({ id: "h", code: "timeout", timedOut: true });
    expect((await s.exited).code).toBe(0);
  });
});

describe("journal write failure (real process, --fault-fail-commit)", () => {
  it("fails the affected command with journal_unavailable, keeps serving, and loses nothing acknowledged", async () => {
    const db = join(tempDir(), "journal.db");
    // commits: #1 create, #2 the first set, #3 the second set (injected failure)
    const s = await spawnServer({ db, args: ["--fault-fail-commit", "3"] });
    const c = await CausewayClient.connect(s.url);
    await c.request({ type: "create_session", sessionId: "s" });
    expect(await c.request({ type: "set", id: "a", sessionId: "s", path: "/a", value: 1 })).toMatchObject({ success: true, sessionVersion: 1 });
    expect(await c.request({ type: "set", id: "b", sessionId: "s", path: "/b", value: 2 })).toMatchObject({ success: false, code: "journal_unavailable" });
    expect(await c.request({ type: "get_state", sessionId: "s" })).toMatchObject({ success: true, sessionVersion: 1, data: { state: { a: 1 } } });
    await c.close();
    await s.stop("SIGKILL");
    const s2 = await spawnServer({ db });
    const c2 = await CausewayClient.connect(s2.url);
    expect(await c2.request({ type: "set", id: "a", sessionId: "s", path: "/a", value: 1 })).toMatchObject({ replayed: true, sessionVersion: 1 });
    expect(await c2.request({ type: "get_state", sessionId: "s" })).toMatchObject({ sessionVersion: 1, data: { state: { a: 1 } } });
    await c2.close();
    expect((await s2.stop()).code).toBe(0);
  });
});
