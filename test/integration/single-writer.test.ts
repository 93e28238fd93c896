/**
 * Issue #15 item 7: one writer per journal file, whatever the path, and a way out of a stale lease.
 *  - a hard link to a running server's journal must not start a second writer (each path would get
 *    its own -wal);
 *  - a lease whose pid now belongs to an unrelated process is stale once its heartbeat is old;
 *  - a lease that looks alive is refused with the holder (pid, host, heartbeat age) and the
 *    `--take-over-lease` option, which takes it over (logged); the old holder then fails closed.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { linkSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CausewayClient } from "../helpers/ws-client.js";
import { ROOT, runServerToExit, spawnServer, tempDir } from "../helpers/spawn.js";

beforeAll(async () => {
  await promisify(execFile)(process.execPath, [join(ROOT, "scripts/build-if-needed.mjs")], { cwd: ROOT, timeout: 120_000 });
}, 120_000);

/** An unrelated live process (not causeway): its pid stands for a recycled one. */
let bystander: ChildProcess;
beforeAll(() => {
  bystander = spawn(process.execPath, ["-e", "setInterval(() => {}, 1 << 30)"], { stdio: "ignore" });
});
afterAll(() => {
  bystander.kill("SIGKILL");
});

/** A journal whose lease row names `pid` on this host, last heartbeat `ageMs` ago. */
async function journalLeasedTo(pid: number, ageMs: number): Promise<string> {
  const db = join(tempDir(), "causeway.db");
  const server = await spawnServer({ db });
  await server.stop(); // (a SIGTERM right after "listening" may beat the CLI's signal handler: the row is replaced anyway)
  const raw = new Database(db);
  const at = Date.now() - ageMs;
  raw.prepare("INSERT OR REPLACE INTO lease (id, holder_pid, holder_host, holder_started_at, heartbeat_at, heartbeat_ms, token) VALUES (1, ?, ?, ?, ?, 2000, 'not-causeway')").run(pid, hostname(), at, at);
  raw.close();
  return db;
}

describe("#15.7 single writer", () => {
  it("#15.7 a hard link to a running server's journal does not start a second writer", async () => {
    const dir = tempDir();
    const db = join(dir, "a.db");
    const a = await spawnServer({ db });
    try {
      const link = join(dir, "b.db");
      linkSync(db, link);
      const b = await runServerToExit({ db: link });
      expect(b.code).toBe(1);
      expect(b.stderr).toContain(`causeway: database ${link} has 2 hard links`);
      expect(b.stderr).toMatch(/every link would be a separate writer/);
    } finally {
      await a.stop();
    }
  }, 60_000);

  it("#15.7 a lease whose pid belongs to an unrelated live process is taken over once its heartbeat is stale, and logged", async () => {
    const pid = bystander.pid!;
    const db = await journalLeasedTo(pid, 60_000);
    const server = await spawnServer({ db });
    try {
      const warn = server.stderr.map((l) => JSON.parse(l) as { level: number; msg: string; takeover?: string }).find((l) => l.takeover === "stale");
      expect(warn).toMatchObject({ level: 40 });
      expect(warn!.msg).toMatch(new RegExp(`took over the journal lease of pid ${pid} on .*: pid ${pid} is alive .*no heartbeat for 6\\d\\.\\d s`));
      const c = await CausewayClient.connect(server.url);
      expect(await c.request({ type: "create_session", sessionId: "s" })).toMatchObject({ success: true });
      await c.close();
    } finally {
      await server.stop();
    }
  }, 60_000);

  it("#15.7 a lease that looks alive is refused naming the holder, its heartbeat age and --take-over-lease; with the option it is taken over and logged", async () => {
    const pid = bystander.pid!;
    const db = await journalLeasedTo(pid, 0);
    const refused = await runServerToExit({ db });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`causeway: database ${db.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is in use by pid ${pid} on host ${hostname()} \\(since .*Z, last heartbeat \\d+\\.\\d s ago at .*Z\\); if no causeway is running on it, start with --take-over-lease`));

    const server = await spawnServer({ db, args: ["--take-over-lease"] });
    try {
      const warn = server.stderr.map((l) => JSON.parse(l) as { level: number; msg: string; takeover?: string }).find((l) => l.takeover === "forced");
      expect(warn?.msg).toMatch(new RegExp(`took over the journal lease of pid ${pid} .*taken over by takeOverLease`));
    } finally {
      await server.stop();
    }
  }, 60_000);

  it("#15.7 a running server whose lease another server took over (--take-over-lease) refuses every later write", async () => {
    const db = join(tempDir(), "causeway.db");
    const a = await spawnServer({ db });
    const ca = await CausewayClient.connect(a.url);
    const b = await spawnServer({ db, args: ["--take-over-lease"] });
    const cb = await CausewayClient.connect(b.url);
    try {
      expect(await ca.request({ type: "create_session", sessionId: "a" })).toMatchObject({ success: false, code: "journal_unavailable" });
      // health_check is journaled like every command: the stale writer refuses it too
      expect(await ca.request({ type: "health_check" })).toMatchObject({ success: false, code: "journal_unavailable" });
      expect(await cb.request({ type: "create_session", sessionId: "b" })).toMatchObject({ success: true });
    } finally {
      await ca.close();
      await cb.close();
      await a.stop();
      await b.stop();
    }
  }, 60_000);
});
