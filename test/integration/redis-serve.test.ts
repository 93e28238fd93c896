/**
 * #18 the real server on the Redis store (`causeway serve --store redis://…`), against a real
 * redis-server (appendonly yes, appendfsync always) on loopback:
 *  - health_check and /readyz name the store; a relaxed server is reported, a strict one refused;
 *  - kill -9 of causeway mid-burst (seeded): every command a client saw finish replays
 *    byte-identical after a restart, and the Redis journal is gap-free with one terminal row each;
 *  - kill -9 of redis-server while causeway serves: causeway fails closed (journal_unavailable,
 *    unhealthy), never acknowledges what Redis lost; restarted, it has every acknowledged command.
 *  After each kill, `causeway audit --store` passes on the Redis journal (its keys included).
 *
 * Seeds: REDIS_KILL_SEEDS (count, default 3) from REDIS_KILL_SEED_BASE (default 1); one seed:
 * `REDIS_KILL_SEED=2 npx vitest run test/integration/redis-serve.test.ts`.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JournalRecord } from "../../src/journal/record.js";
import { checkReplays, drained, killMidBurst } from "../helpers/kill-burst.js";
import { expectAuditPasses, expectGapFree, streamRecords } from "../helpers/redis-journal.js";
import { startRedis, useRedis, type TestRedis } from "../helpers/redis-server.js";
import { runServerToExit, spawnServer, tempDir, type SpawnedServer } from "../helpers/spawn.js";
import { CausewayClient } from "../helpers/ws-client.js";

const seeds: number[] = process.env.REDIS_KILL_SEED
  ? [Number(process.env.REDIS_KILL_SEED)]
  : Array.from({ length: Number(process.env.REDIS_KILL_SEEDS ?? 3) }, (_, i) => Number(process.env.REDIS_KILL_SEED_BASE ?? 1) + i);

/** A causeway on `redis` (db `n`), its projection in a data dir of its own. */
function serveOn(redis: TestRedis, n: number, dataDir = tempDir("causeway-redis-"), args: string[] = []): Promise<SpawnedServer> {
  return spawnServer({ db: join(dataDir, "causeway.db"), args: ["--store", redis.url(n), ...args] });
}

/** Gap-free seq and lane sequences; one finished row per command; nothing left unfinished. */
function expectWholeJournal(records: JournalRecord[]): void {
  expectGapFree(records);
  const accepted = new Set(records.filter((r) => r.phase === "accepted").map((r) => r.commandId));
  const finished = records.filter((r) => r.phase === "finished").map((r) => r.commandId);
  expect(new Set(finished).size).toBe(finished.length);
  expect([...accepted].filter((id) => !finished.includes(id))).toEqual([]);
}

describe("#18 causeway serve on the Redis store", () => {
  const redis = useRedis();

  it("health_check and /readyz name the Redis store; a second node's data dir catches up from Redis", async () => {
    const server = await serveOn(redis, 1);
    const c = await CausewayClient.connect(server.url);
    await c.request({ type: "create_session", id: "hc-create", sessionId: "hc" });
    const set = await c.request({ type: "set", id: "hc-set", sessionId: "hc", path: "/a", value: 1 });
    expect(set.success).toBe(true);
    const h = await c.request({ type: "health_check", id: "hc-health" });
    expect(h.data).toMatchObject({ healthy: true, warnings: [], journal: { store: "redis", durability: "strict", healthy: true } });
    const ready = await fetch(`http://127.0.0.1:${server.port}/readyz`);
    expect(await ready.json()).toMatchObject({ ok: true, warnings: [] });
    await c.close();
    expect((await server.stop()).code).toBe(0);

    // a fresh data dir: nothing local, everything from Redis
    const again = await serveOn(redis, 1);
    const c2 = await CausewayClient.connect(again.url);
    const replay = await c2.request({ type: "set", id: "hc-set", sessionId: "hc", path: "/a", value: 1 });
    expect(replay).toMatchObject({ success: true, replayed: true, sessionVersion: 1 });
    expect((await c2.request({ type: "get_state", id: "hc-get", sessionId: "hc" })).data).toEqual({ state: { a: 1 } });
    await c2.close();
    expect((await again.stop()).code).toBe(0);
  });

  it("strict refuses a redis-server without appendfsync always; relaxed starts and says so", async () => {
    const lax = await startRedis({ config: { appendfsync: "everysec" } });
    try {
      const refused = await runServerToExit({ db: join(tempDir(), "causeway.db"), args: ["--store", lax.url()] });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("appendfsync everysec");
      expect(refused.stderr).toContain("--redis-durability relaxed");
      const server = await serveOn(lax, 0, tempDir(), ["--redis-durability", "relaxed"]);
      const c = await CausewayClient.connect(server.url);
      const h = await c.request({ type: "health_check", id: "lax-health" });
      expect(h.data.healthy).toBe(true);
      expect(h.data.journal).toMatchObject({ store: "redis", durability: "relaxed" });
      expect(h.data.warnings).toEqual([expect.stringMatching(/^redis durability relaxed: redis-server runs with appendfsync everysec/)]);
      const ready = (await (await fetch(`http://127.0.0.1:${server.port}/readyz`)).json()) as { ok: boolean; warnings: string[] };
      expect(ready.ok).toBe(true);
      expect(ready.warnings).toEqual(h.data.warnings);
      await c.close();
      await server.stop();
    } finally {
      await lax.stop();
    }
  });

  for (const seed of seeds) {
    it(`kill -9 of causeway, seed ${seed}: finished commands replay byte-identical; the Redis journal is whole`, async () => {
      console.log(`redis kill seed ${seed} (re-run: REDIS_KILL_SEED=${seed} npx vitest run test/integration/redis-serve.test.ts)`);
      const n = 2 + seed;
      const dataDir = tempDir("causeway-redis-kill-");
      const burst = await killMidBurst(await serveOn(redis, n, dataDir), seed);
      const again = await serveOn(redis, n, dataDir);
      const c = await CausewayClient.connect(again.url);
      await drained(c);
      await checkReplays(c, burst);
      await c.close();
      expect((await again.stop()).code).toBe(0);
      expectWholeJournal(await streamRecords(redis, n));
      await expectAuditPasses(redis.url(n));
    });
  }

  it("kill -9 of redis-server mid-burst: every acknowledged command survives; causeway goes on or fails closed, never in between", async () => {
    const own = await startRedis();
    try {
      const dataDir = tempDir("causeway-redis-restart-");
      const server = await serveOn(own, 0, dataDir);
      const c = await CausewayClient.connect(server.url);
      await c.request({ type: "create_session", id: "rr-create", sessionId: "rr" });
      // 200 sets pipelined 32 at a time; redis-server is SIGKILLed (and restarted on its AOF) when the 60th answer arrives
      const answers = new Map<string, Record<string, any>>();
      let next = 0;
      let restarted: Promise<void> | undefined;
      await new Promise<void>((resolve) => {
        const send = (): void => {
          if (next >= 200) return;
          const i = next++;
          c.request({ type: "set", id: `rr-${i}`, sessionId: "rr", path: `/k${i}`, value: i }, 60_000).then((r) => {
            answers.set(`rr-${i}`, r);
            if (answers.size === 60) restarted = own.restart();
            if (answers.size === 200) resolve();
            else send();
          });
        };
        for (let k = 0; k < 32; k++) send();
      });
      await restarted;
      const acked = [...answers].filter(([, r]) => r.success === true);
      const failed = [...answers].filter(([, r]) => r.success !== true);
      // a failure is the journal's (never a wrong answer), and once failed the store stays closed
      for (const [, r] of failed) expect(r.code).toBe("journal_unavailable");
      // a store that failed closed answers every command journal_unavailable (health_check too: it
      // is journaled); /readyz stays outside the journal and says why
      const ready = (await (await fetch(`http://127.0.0.1:${server.port}/readyz`)).json()) as { ok: boolean; checks: { journalHealthy: boolean } };
      expect(ready.ok).toBe(failed.length === 0);
      expect(ready.checks.journalHealthy).toBe(failed.length === 0);
      console.log(`redis restart mid-burst: ${acked.length} acknowledged, ${failed.length} journal_unavailable`);
      await c.close();
      await server.stop("SIGKILL");

      const again = await serveOn(own, 0, dataDir);
      const c2 = await CausewayClient.connect(again.url);
      await drained(c2);
      for (const [id, r] of acked) {
        const i = Number(id.slice(3));
        const replay = await c2.request({ type: "set", id, sessionId: "rr", path: `/k${i}`, value: i });
        expect(replay, id).toMatchObject({ success: true, replayed: true, sessionVersion: r.sessionVersion });
      }
      await c2.close();
      expect((await again.stop()).code).toBe(0);
      expectWholeJournal(await streamRecords(own, 0));
      await expectAuditPasses(own.url(0));
    } finally {
      await own.stop();
    }
  });
});
