/**
 * Issue #4.7 against the real process: the background compactor bounds the journal while the
 * server serves; retained outcomes and live idempotency keys still replay; the audit passes on the
 * compacted journal; a resume from before the cut is refused, not silently gapped.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RETENTION_ARGS, fillUntilCompacted } from "../helpers/retention-fill.js";
import { CLI, ROOT, spawnServer, tempDir } from "../helpers/spawn.js";

describe("retention (background compactor)", () => {
  it("compacts in the background without breaking replay, keys, lanes or the audit", async () => {
    const db = join(tempDir(), "journal.db");
    const server = await spawnServer({ db, args: RETENTION_ARGS });
    // the compactor logs each run that removed rows: fillUntilCompacted waits for that line
    const { c, keyed } = await fillUntilCompacted(server);
    // a live idempotency key still replays its (retained) outcome after its rows were compacted
    const again = await c.request({ type: "set", id: "keyed-retry", sessionId: "s", path: "/k", value: "kept", idempotencyKey: "live-key" });
    expect(again).toMatchObject({ replayed: true, sessionVersion: keyed.sessionVersion });
    // recent commands still replay by id; state and versions are intact
    expect(await c.request({ type: "set", id: "w299", sessionId: "s", path: "/n", value: 299 })).toMatchObject({ replayed: true, sessionVersion: 301 });
    expect(await c.request({ type: "get_state", sessionId: "s" })).toMatchObject({ sessionVersion: 301, data: { state: { k: "kept", n: 299 } } });
    // resuming from before the cut is refused with a clear code
    const resume = await c.request({ type: "subscribe", scope: "all", fromSeq: 0 });
    expect(resume).toMatchObject({ success: false, code: "history_compacted" });
    const history = await c.request({ type: "get_command_history", sessionIdFilter: "s", order: "oldest", limit: 500 });
    expect(history.data.items.length).toBeLessThan(200);
    await c.close();
    expect((await server.stop()).code).toBe(0);
    // the audit starts from the checkpoint and finds the compacted journal clean
    const audit = spawnSync(process.execPath, [CLI, "audit", "--db", db, "--json"], { cwd: ROOT, encoding: "utf8" });
    expect(audit.status, audit.stderr).toBe(0);
    expect(JSON.parse(audit.stdout)).toMatchObject({ ok: true });
  });
});
