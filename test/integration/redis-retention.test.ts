/**
 * #18 retention on the Redis store against the real process (as test/integration/retention.test.ts
 * does on SQLite): the background compactor bounds the Redis journal while the server serves;
 * retained outcomes and live idempotency keys still replay; `causeway audit --store` passes on the
 * compacted journal; a node started on a fresh data dir (its projection seeded from the Redis
 * checkpoint, then the retained stream) answers the same.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { keyspace } from "../../src/journal/redis/keyspace.js";
import { useRedisClient } from "../helpers/redis-server.js";
import { TEST_COMMANDS, runCli, spawnServer, tempDir, type SpawnedServer } from "../helpers/spawn.js";
import { RETENTION_ARGS, fillUntilCompacted } from "../helpers/retention-fill.js";
import { CausewayClient } from "../helpers/ws-client.js";

const r = useRedisClient();
const P = keyspace("causeway").prefix;

const serve = (args: string[] = []): Promise<SpawnedServer> => spawnServer({ db: join(tempDir("causeway-redis-ret-"), "causeway.db"), args: ["--store", r.redis.url(1), ...args] });

/** What a client sees of the compacted journal. */
interface Answers {
  recent: unknown[];
  state: unknown[];
  history: string[];
  resume: unknown;
}

async function answers(c: CausewayClient, keyedVersion: number): Promise<Answers> {
  const again = await c.request({ type: "set", id: "keyed-retry", sessionId: "s", path: "/k", value: "kept", idempotencyKey: "live-key" });
  expect(again).toMatchObject({ replayed: true, sessionVersion: keyedVersion });
  const recent = await c.request({ type: "set", id: "w299", sessionId: "s", path: "/n", value: 299 });
  const history = await c.request({ type: "get_command_history", sessionIdFilter: "s", order: "oldest", limit: 500 });
  const resume = await c.request({ type: "subscribe", scope: "all", fromSeq: 0 });
  const state = await c.request({ type: "get_state", sessionId: "s" });
  return { recent: [recent.replayed, recent.sessionVersion], state: [state.sessionVersion, state.data.state], history: history.data.items.map((i: { commandId: string }) => i.commandId), resume: resume.code };
}

describe("#18 retention on the Redis store (background compactor, real process)", () => {
  it("#18.27 compacts the Redis journal in the background; replays, keys and the audit hold; a fresh node sees the same", async () => {
    const server = await serve(RETENTION_ARGS);
    const { c, keyed } = await fillUntilCompacted(server);
    const seen = await answers(c, keyed.sessionVersion as number);
    expect(seen).toMatchObject({ recent: [true, 301], state: [301, { k: "kept", n: 299 }], resume: "history_compacted" });
    expect(seen.history.length).toBeLessThan(200);
    await c.close();
    expect((await server.stop()).code).toBe(0);
    await r.client.select(1);
    expect(await r.client.exists(`${P}checkpoint`)).toBe(1);
    expect(await r.client.xlen(`${P}journal`)).toBeLessThan(600);
    const audit = await runCli(["audit", "--store", r.redis.url(1), "--commands", TEST_COMMANDS, "--json"]);
    expect(audit.code, audit.stdout).toBe(0);
    expect(JSON.parse(audit.stdout)).toMatchObject({ ok: true, invariants: { redis_materialized_keys: { checks: 1, violations: 0 } } });
    // what the Redis journal holds now: the kept command (its key is live), then the retained stream's
    const stream = await r.client.xrange(`${P}journal`, "-", "+");
    const retained = stream.map(([, f]) => JSON.parse(f[f.indexOf("r") + 1]!) as { phase: string; sessionId: string | null; commandId: string });
    const expected = ["keyed", ...retained.filter((x) => x.phase === "accepted" && x.sessionId === "s").map((x) => x.commandId)];
    // a node on a fresh data dir, no retention: its projection starts from the Redis checkpoint
    const fresh = await serve();
    const c2 = await CausewayClient.connect(fresh.url);
    const again = await answers(c2, keyed.sessionVersion as number);
    expect(again.history).toEqual(expected);
    expect({ ...again, history: [] }).toEqual({ ...seen, history: [] });
    await c2.close();
    expect((await fresh.stop()).code).toBe(0);
  });
});
