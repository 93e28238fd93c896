/**
 * Issue #3 kill test: bursts from several WebSocket clients, SIGKILL at a seeded random moment,
 * restart on the same SQLite file, and check that clients get answered as if nothing happened.
 *
 * Seeds: KILL_SEEDS=20 (count, default 20) starting at KILL_SEED_BASE (default 1); re-run one seed
 * with `KILL_SEED=7 npx vitest run test/integration/kill9.test.ts`.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { CausewayClient } from "../helpers/ws-client.js";
import { spawnSync } from "node:child_process";
import { WRITE_TYPES, checkReplays, drained, killMidBurst } from "../helpers/kill-burst.js";
import { CLI, ROOT, TEST_COMMANDS, spawnServer, tempDir } from "../helpers/spawn.js";

const seeds: number[] = process.env.KILL_SEED
  ? [Number(process.env.KILL_SEED)]
  : Array.from({ length: Number(process.env.KILL_SEEDS ?? 20) }, (_, i) => Number(process.env.KILL_SEED_BASE ?? 1) + i);

describe("kill -9 at a seeded moment", () => {
  for (const seed of seeds) {
    it(`seed ${seed}: finished commands replay byte-identical; lanes gap-free; one terminal outcome each`, async () => {
      console.log(`kill9 seed ${seed} (re-run: KILL_SEED=${seed} npx vitest run test/integration/kill9.test.ts)`);
      const db = join(tempDir("causeway-kill-"), "journal.db");
      const server = await spawnServer({ db });
      const burst = await killMidBurst(server, seed);
      const { killAfter, sent, finished } = burst;

      // restart on the same file
      const again = await spawnServer({ db });
      const c = await CausewayClient.connect(again.url);
      const recovery = (await c.request({ type: "get_startup_recovery" })).data;
      console.log(
        `kill9 seed ${seed}: killed after ${killAfter} responses; sent ${sent.size}, saw ${finished.size} finish; ` +
          `recovery requeued ${recovery.requeued.count}, interrupted ${recovery.interrupted.count}`,
      );
      await drained(c);
      await checkReplays(c, burst);
      await c.close();
      expect((await again.stop()).code).toBe(0);

      // journal invariants
      const sql = new Database(db, { readonly: true });
      const lanes = sql.prepare("SELECT lane, group_concat(lane_seq) AS seqs, count(*) AS n, max(lane_seq) AS top FROM journal GROUP BY lane").all() as Array<{ lane: string; n: number; top: number }>;
      for (const l of lanes) expect(l.top, `lane ${l.lane} has a gap`).toBe(l.n);
      const seqs = sql.prepare("SELECT count(*) AS n, max(seq) AS top FROM journal").get() as { n: number; top: number };
      expect(seqs.top).toBe(seqs.n);
      const unfinished = sql.prepare("SELECT count(*) AS n FROM commands WHERE status IN ('queued','running')").get() as { n: number };
      expect(unfinished.n).toBe(0);
      const multi = sql.prepare("SELECT command_id, count(*) AS n FROM journal WHERE phase = 'finished' GROUP BY command_id HAVING n <> 1").all();
      expect(multi).toEqual([]);
      const noTerminal = sql.prepare("SELECT c.command_id FROM commands c LEFT JOIN journal j ON j.command_id = c.command_id AND j.phase = 'finished' WHERE j.seq IS NULL").all();
      expect(noTerminal).toEqual([]);
      const versions = sql.prepare("SELECT session_id, version FROM sessions WHERE deleted_at IS NULL").all() as Array<{ session_id: string; version: number }>;
      for (const v of versions) {
        const writes = sql
          .prepare(`SELECT count(*) AS n FROM commands WHERE session_id = ? AND status = 'succeeded' AND type IN (${[...WRITE_TYPES].map(() => "?").join(",")})`)
          .get(v.session_id, ...WRITE_TYPES) as { n: number };
        expect(v.version, `session ${v.session_id} version`).toBe(writes.n);
      }
      const rowsBefore = (sql.prepare("SELECT count(*) AS n FROM journal").get() as { n: number }).n;
      sql.close();

      // the offline audit finds the journal the kill left (after recovery) clean
      const audit = spawnSync(process.execPath, [CLI, "audit", "--db", db, "--commands", TEST_COMMANDS, "--json"], { cwd: ROOT, encoding: "utf8" });
      expect(audit.status, audit.stdout.slice(0, 2000) + audit.stderr).toBe(0);

      // a second restart changes nothing
      const third = await spawnServer({ db });
      const c3 = await CausewayClient.connect(third.url);
      const summary = await c3.request({ id: "third-probe", type: "get_startup_recovery" });
      expect(summary.data.unfinished).toBe(0);
      await c3.close();
      expect((await third.stop()).code).toBe(0);
      // nothing but the probe itself (every command is journaled, reads too) was added
      const sql2 = new Database(db, { readonly: true });
      const added = sql2.prepare("SELECT command_id, phase FROM journal WHERE seq > ? ORDER BY seq").all(rowsBefore) as Array<{ command_id: string; phase: string }>;
      expect(added).toEqual([
        { command_id: "third-probe", phase: "accepted" },
        { command_id: "third-probe", phase: "started" },
        { command_id: "third-probe", phase: "finished" },
      ]);
      sql2.close();
    });
  }
});
