/**
 * `causeway audit` as a user runs it (dist/cli/main.js) on a journal left by a real server killed
 * with SIGKILL mid-burst: clean before the restart (unfinished commands are not violations), while
 * the restarted server holds the lease, and after it stopped; a corrupted copy exits 2 naming the
 * invariant; a missing file exits 1.
 */
import { spawn } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { CausewayClient } from "../helpers/ws-client.js";
import { CLI, ROOT, TEST_COMMANDS, spawnServer, tempDir } from "../helpers/spawn.js";

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function audit(args: string[]): Promise<CliResult> {
  const proc = spawn(process.execPath, [CLI, "audit", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  proc.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => proc.once("close", (code) => resolve({ code, stdout, stderr })));
}

function json(r: CliResult): Record<string, any> {
  return JSON.parse(r.stdout) as Record<string, any>;
}

describe("causeway audit (CLI)", () => {
  it("audits a journal left by kill -9 mid-burst: clean; a corrupted copy exits 2 naming the invariant", async () => {
    const dir = tempDir("causeway-audit-cli-");
    const db = join(dir, "journal.db");
    const server = await spawnServer({ db });
    const clients = await Promise.all([0, 1, 2].map(() => CausewayClient.connect(server.url)));
    const sessions = ["a", "b", "c"];
    for (const s of sessions) await clients[0]!.request({ type: "create_session", id: `create-${s}`, sessionId: s });

    // every client keeps a window of commands in flight; the server is killed mid-burst
    const sentIds: string[] = [];
    let n = 0;
    const next = (): Record<string, unknown> => {
      const sid = sessions[n % sessions.length]!;
      const id = `b-${n++}`;
      const k = n % 10;
      const cmd: Record<string, unknown> =
        k < 4
          ? { type: "set", id, sessionId: sid, path: `/k${n % 5}`, value: n }
          : k < 5
            ? { type: "patch", id, sessionId: sid, ops: [{ op: n % 3 === 0 ? "test" : "add", path: "/p", value: n }] }
            : k < 6
              ? { type: "get_state", id, sessionId: sid }
              : k < 7
                ? { type: "side_effect", id, sessionId: sid, n: 1 }
                : k < 8
                  ? { type: "set", id, sessionId: sid, path: "/idem", value: n % 4, idempotencyKey: `key-${n % 4}` }
                  : k < 9 && sentIds.length > 0
                    ? { type: "set", id, sessionId: sid, path: "/dep", value: n, dependsOn: [sentIds[(n * 7) % sentIds.length]!] }
                    : { type: "list_sessions", id };
      sentIds.push(id);
      return cmd;
    };
    const KILL_AFTER = 250;
    let responses = 0;
    let killed = false;
    await new Promise<void>((resolve) => {
      for (const client of clients) {
        const send = (): void => {
          if (!killed) client.sendRaw(next());
        };
        client
          .waitNext((f) => {
            if (f.type === "response" && typeof f.id === "string" && f.id.startsWith("b-")) {
              responses++;
              if (!killed && responses >= KILL_AFTER) {
                killed = true;
                server.proc.kill("SIGKILL");
                resolve();
              } else send();
            }
            return false;
          }, 120_000)
          .catch(() => {});
        for (let i = 0; i < 32; i++) send();
      }
    });
    expect((await server.exited).signal).toBe("SIGKILL");
    for (const c of clients) c.terminate();

    // right after the kill: read-only, nothing is violated; unfinished commands are only counted
    const afterKill = await audit(["--db", db, "--commands", TEST_COMMANDS, "--json"]);
    expect(afterKill.stderr).toBe("");
    expect(afterKill.code, afterKill.stdout).toBe(0);
    const k = json(afterKill);
    expect(k.ok).toBe(true);
    expect(k.checkedRows).toBe(k.window.lastSeq);

    // restart once: recovery journals a verdict for every unfinished command
    const again = await spawnServer({ db });
    const c = await CausewayClient.connect(again.url);
    for (;;) {
      const h = await c.request({ type: "health_check" });
      if (h.data.inFlight === 0) break;
      await c.waitNext((f) => f.type === "command_finished", 2_000).catch(() => {});
    }
    // while the restarted server holds the lease
    const live = await audit(["--db", db, "--commands", TEST_COMMANDS, "--json"]);
    expect(live.code, live.stdout).toBe(0);
    expect(json(live).unfinished.count).toBe(0);
    await c.close();
    expect((await again.stop()).code).toBe(0);

    const clean = await audit(["--db", db, "--commands", TEST_COMMANDS, "--json"]);
    expect(clean.code, clean.stdout).toBe(0);
    const r = json(clean);
    expect(r.violations).toEqual([]);
    expect(r).toMatchObject({ ok: true, unfinished: { count: 0 }, window: { complete: true, truncated: false } });
    expect(r.commands).toBeGreaterThan(KILL_AFTER);
    expect(r.reexecution.matched).toBeGreaterThan(100);
    expect(r.reexecution.skipped.non_deterministic).toBeGreaterThan(0);
    for (const t of Object.values(r.invariants) as Array<{ checks: number }>) expect(t.checks).toBeGreaterThan(0);

    // without the command module: its types are counted as unregistered, still clean
    const bare = await audit(["--db", db, "--json"]);
    expect(bare.code).toBe(0);
    expect(json(bare).reexecution.skipped.unregistered).toBeGreaterThan(0);
    // one session; and the readable report
    expect((await audit(["--db", db, "--session", "b", "--commands", TEST_COMMANDS, "--json"])).code).toBe(0);
    const text = await audit(["--db", db, "--commands", TEST_COMMANDS]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^lane_seq_gap_free\s+\d+\s+0$/m);
    expect(text.stdout).toContain("result: OK");

    // a corrupted copy: one journal row deleted
    const copy = join(dir, "corrupt.db");
    copyFileSync(db, copy);
    if (existsSync(`${db}-wal`)) copyFileSync(`${db}-wal`, `${copy}-wal`);
    const raw = new Database(copy);
    raw.exec("DROP TRIGGER journal_append_only_delete");
    const victim = raw.prepare("SELECT seq FROM journal WHERE phase = 'started' ORDER BY seq LIMIT 1 OFFSET 20").get() as { seq: number };
    raw.prepare("DELETE FROM journal WHERE seq = ?").run(victim.seq);
    raw.close();
    const bad = await audit(["--db", copy, "--commands", TEST_COMMANDS, "--json"]);
    expect(bad.code).toBe(2);
    const b = json(bad);
    expect(b.ok).toBe(false);
    const gap = b.violations.find((v: { invariant: string }) => v.invariant === "lane_seq_gap_free");
    expect(gap).toMatchObject({ seq: victim.seq + 1, evidence: { previousSeq: victim.seq - 1, seq: victim.seq + 1 } });
    const badText = await audit(["--db", copy, "--commands", TEST_COMMANDS]);
    expect(badText.code).toBe(2);
    expect(badText.stdout).toContain("[lane_seq_gap_free]");
    expect(badText.stdout).toContain("result: FAILED");

    // errors: exit 1
    const missing = await audit(["--db", join(dir, "nope.db")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^causeway: audit failed: database .*nope\.db does not exist: check --db/);
    expect(existsSync(join(dir, "nope.db"))).toBe(false);
  }, 120_000);
});
