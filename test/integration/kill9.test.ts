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
import { CLI, ROOT, TEST_COMMANDS, spawnServer, tempDir } from "../helpers/spawn.js";

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const seeds: number[] = process.env.KILL_SEED
  ? [Number(process.env.KILL_SEED)]
  : Array.from({ length: Number(process.env.KILL_SEEDS ?? 20) }, (_, i) => Number(process.env.KILL_SEED_BASE ?? 1) + i);

interface Sent {
  cmd: Record<string, unknown>;
  client: number;
}

const WRITE_TYPES = new Set(["set", "patch", "side_effect"]);

describe("kill -9 at a seeded moment", () => {
  for (const seed of seeds) {
    it(`seed ${seed}: finished commands replay byte-identical; lanes gap-free; one terminal outcome each`, async () => {
      console.log(`kill9 seed ${seed} (re-run: KILL_SEED=${seed} npx vitest run test/integration/kill9.test.ts)`);
      const rnd = mulberry32(seed);
      const db = join(tempDir("causeway-kill-"), "journal.db");
      const server = await spawnServer({ db });
      const clients = await Promise.all([0, 1, 2].map(() => CausewayClient.connect(server.url)));
      const sessions = ["a", "b", "c", "d"];
      for (const s of sessions) await clients[0]!.request({ type: "create_session", id: `create-${s}`, sessionId: s });

      // Each client keeps WINDOW commands in flight; the server is killed when the K-th burst
      // response arrives (K seeded), so commands are in every lifecycle state at that moment.
      const WINDOW = 48;
      const killAfter = 1 + Math.floor(rnd() * 400);
      const sent = new Map<string, Sent>();
      let responses = 0;
      let killed = false;
      let n = 0;
      const nextCommand = (): Record<string, unknown> => {
        const sid = sessions[Math.floor(rnd() * sessions.length)]!;
        const id = `s${seed}-${n++}`;
        const r = rnd();
        if (r < 0.45) return { type: "set", id, sessionId: sid, path: `/k${Math.floor(rnd() * 5)}`, value: n };
        if (r < 0.6) return { type: "patch", id, sessionId: sid, ops: [{ op: rnd() < 0.8 ? "add" : "test", path: "/p", value: n }] };
        if (r < 0.7) return { type: "get_state", id, sessionId: sid };
        if (r < 0.8) return { type: "side_effect", id, sessionId: sid, n: 1 };
        if (r < 0.9) return { type: "set", id, sessionId: sid, path: "/idem", value: n % 7, idempotencyKey: `key-${n % 7}` };
        const prev = [...sent.keys()];
        const dep = prev[Math.floor(rnd() * prev.length)];
        return dep ? { type: "set", id, sessionId: sid, path: "/dep", value: n, dependsOn: [dep] } : { type: "get_state", id, sessionId: sid };
      };
      const killedPromise = new Promise<void>((resolve) => {
        clients.forEach((client, ci) => {
          const send = (): void => {
            if (killed) return;
            const cmd = nextCommand();
            sent.set(cmd.id as string, { cmd, client: ci });
            client.sendRaw(cmd);
          };
          client.waitNext((f) => {
            if (f.type === "response" && typeof f.id === "string" && sent.has(f.id)) {
              responses++;
              if (!killed && responses >= killAfter) {
                killed = true;
                server.proc.kill("SIGKILL");
                resolve();
              } else send();
            }
            return false;
          }, 120_000).catch(() => {});
          for (let i = 0; i < WINDOW; i++) send();
        });
      });
      await killedPromise;
      const exit = await server.exited;
      expect(responses).toBeGreaterThanOrEqual(killAfter);
      expect(exit.signal).toBe("SIGKILL");
      for (const c of clients) c.terminate();

      // what the clients saw finish
      const finished = new Map<string, { success: boolean; code?: string; sessionVersion?: number }>();
      const rawResponses = new Map<string, string>();
      for (const c of clients) {
        c.frames.forEach((f, i) => {
          const d = f.data as Record<string, any> | undefined;
          if (f.type === "command_finished" && d && !d.replayed && sent.has(d.commandId)) finished.set(d.commandId, d as any);
          if (f.type === "response" && typeof f.id === "string" && sent.has(f.id)) rawResponses.set(f.id, c.raw[i]!);
        });
      }

      expect(finished.size).toBeGreaterThan(0);

      // restart on the same file
      const again = await spawnServer({ db });
      const c = await CausewayClient.connect(again.url);
      const recovery = (await c.request({ type: "get_startup_recovery" })).data;
      console.log(
        `kill9 seed ${seed}: killed after ${killAfter} responses; sent ${sent.size}, saw ${finished.size} finish; ` +
          `recovery requeued ${recovery.requeued.count}, interrupted ${recovery.interrupted.count}`,
      );
      // let re-queued commands drain
      for (;;) {
        const h = await c.request({ type: "health_check" });
        if (h.data.inFlight === 0) break;
        await c.waitNext((f) => f.type === "command_finished" || f.type === "session_created", 2_000).catch(() => {});
      }
      for (const [id, ev] of finished) {
        const before = c.raw.length;
        const r = await c.request(sent.get(id)!.cmd);
        expect(r.replayed, `replay of ${id}`).toBe(true);
        expect(r.success).toBe(ev.success);
        expect(r.code).toBe(ev.code);
        expect(r.sessionVersion).toBe(ev.sessionVersion);
        const original = rawResponses.get(id);
        if (original) {
          const replayText = c.raw.slice(before).find((t) => t.includes(`"type":"response"`) && t.includes(`"id":${JSON.stringify(id)}`))!;
          expect(replayText).toBe(`${original.slice(0, -1)},"replayed":true}`);
        }
      }
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
