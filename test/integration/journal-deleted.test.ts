/**
 * Issue #15 item 4: the journal's files are deleted while the server runs. SQLite would keep
 * committing into the unlinked inode (acknowledged writes that vanish at the next restart); the
 * server must notice (on the lease heartbeat, and after every commit before it counts as durable)
 * and fail closed: an error log naming the file, `health_check` unhealthy, `/readyz` 503, the
 * `causeway_journal_healthy` gauge 0, and every write refused with `journal_unavailable`.
 */
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { CausewayClient } from "../helpers/ws-client.js";
import { ROOT, spawnServer, tempDir, type SpawnedServer } from "../helpers/spawn.js";

beforeAll(async () => {
  await promisify(execFile)(process.execPath, [join(ROOT, "scripts/build-if-needed.mjs")], { cwd: ROOT, timeout: 120_000 });
}, 120_000);

/** Resolves with the first stderr line (already seen or future) matching `re`. */
function stderrLine(server: SpawnedServer, re: RegExp, timeoutMs = 15_000): Promise<string> {
  const seen = server.stderr.find((l) => re.test(l));
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error(`no stderr line matching ${re} within ${timeoutMs} ms:\n${server.stderr.join("\n")}`)), timeoutMs);
    const onData = (d: Buffer): void => {
      buf += d.toString();
      const line = buf.split("\n").find((l) => re.test(l));
      if (!line) return;
      clearTimeout(timer);
      server.proc.stderr!.off("data", onData);
      resolve(line);
    };
    server.proc.stderr!.on("data", onData);
  });
}

const removeJournal = (db: string): void => {
  for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
};

describe("#15.4 journal files deleted while the server runs", () => {
  it("#15.4 rm of the db, -wal and -shm: the heartbeat notices, the server logs an error naming the file, health_check and /readyz report it, and writes fail with journal_unavailable", async () => {
    const db = join(tempDir(), "causeway.db");
    const server = await spawnServer({ db });
    const c = await CausewayClient.connect(server.url);
    try {
      expect(await c.request({ type: "create_session", sessionId: "s" })).toMatchObject({ success: true });
      expect(await c.request({ type: "set", sessionId: "s", path: "/a", value: 1 })).toMatchObject({ success: true });
      expect((await fetch(`http://127.0.0.1:${server.port}/readyz`)).status).toBe(200);

      removeJournal(db);
      // no command is sent: the lease heartbeat alone must notice
      const line = JSON.parse(await stderrLine(server, /journal unavailable/)) as { level: number; msg: string; db: string };
      expect(line.level).toBe(50); // error
      expect(line.db).toBe(db);
      expect(line.msg).toContain(`journal file ${db}`);

      // health_check is journaled like every command: it fails closed too
      const health = await c.request({ type: "health_check" });
      expect(health).toMatchObject({ success: false, code: "journal_unavailable" });
      const ready = await fetch(`http://127.0.0.1:${server.port}/readyz`);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { checks: Record<string, boolean>; issues?: string[] };
      expect(body).toMatchObject({ checks: { journalHealthy: false } });
      expect(await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text()).toMatch(/^causeway_journal_healthy 0$/m);

      // nothing is acknowledged any more, and it stays that way
      for (const value of [2, 3]) {
        const r = await c.request({ type: "set", sessionId: "s", path: "/a", value });
        expect(r).toMatchObject({ success: false, code: "journal_unavailable" });
      }
      expect(await c.request({ type: "create_session", sessionId: "t" })).toMatchObject({ success: false, code: "journal_unavailable" });
      expect((await fetch(`http://127.0.0.1:${server.port}/readyz`)).status).toBe(503);
    } finally {
      await c.close();
      await server.stop();
    }
  }, 60_000);
});
