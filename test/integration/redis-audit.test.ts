/**
 * #18 the offline tools on the Redis store: `causeway audit --store redis://…` reads the journal
 * through the read-only open (no lease, no write to Redis) and audits Redis's own materialized keys
 * (`redis_materialized_keys`): an untampered journal passes, every tampered key is named.
 * `causeway export --store redis://…` writes the trace of the Redis journal: imported into a SQLite
 * journal it audits clean and exports again to the same trace.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyspace } from "../../src/journal/redis/keyspace.js";
import { startRedis, type TestRedis } from "../helpers/redis-server.js";
import { TEST_COMMANDS, runCli, spawnServer, tempDir } from "../helpers/spawn.js";
import { CausewayClient } from "../helpers/ws-client.js";

const P = keyspace("causeway").prefix;

interface Report {
  ok: boolean;
  invariants: Record<string, { checks: number; violations: number }>;
  violations: Array<{ invariant: string; message: string; commandId?: string; sessionId?: string; evidence: { key: string } }>;
}

async function audit(url: string): Promise<{ code: number | null; report: Report | null; stderr: string }> {
  const res = await runCli(["audit", "--store", url, "--json"]);
  return { code: res.code, report: res.stdout.trim() ? (JSON.parse(res.stdout) as Report) : null, stderr: res.stderr };
}

/** A journal with sessions, idempotency keys, a failure and a deleted session, written by a real server. */
async function fill(url: string): Promise<void> {
  const server = await spawnServer({ db: join(tempDir("causeway-redis-audit-"), "causeway.db"), args: ["--store", url] });
  const c = await CausewayClient.connect(server.url);
  await c.request({ type: "create_session", id: "a-create", sessionId: "a" });
  await c.request({ type: "create_session", id: "b-create", sessionId: "b" });
  for (let i = 0; i < 5; i++) await c.request({ type: "set", id: `a-set-${i}`, sessionId: "a", path: `/k${i}`, value: i, idempotencyKey: `key-${i}` });
  await c.request({ type: "set", id: "a-stale", sessionId: "a", path: "/x", value: 0, ifSessionVersion: 1 });
  await c.request({ type: "delete_session", id: "b-delete", sessionId: "b" });
  await c.close();
  expect((await server.stop()).code).toBe(0);
}

describe("#18 causeway audit --store redis://…", () => {
  let redis: TestRedis;
  let client: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url(0));
    await fill(redis.url(1));
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it("an untampered journal passes, Redis's keys included; the audit writes nothing to Redis", async () => {
    await client.select(1);
    const before = (await client.keys(`${P}*`)).sort();
    expect(before).not.toContain(`${P}lease:journal`);
    const { code, report } = await audit(redis.url(1));
    expect(report?.violations).toEqual([]);
    expect(code).toBe(0);
    expect(report?.invariants.redis_materialized_keys).toEqual({ checks: 1, violations: 0 });
    expect(report?.invariants.materialized_tables?.checks).toBeGreaterThan(0);
    // no lease taken, nothing created or changed
    expect((await client.keys(`${P}*`)).sort()).toEqual(before);
    const text = await runCli(["audit", "--store", redis.url(1)]);
    expect(text.stdout).toMatch(/redis_materialized_keys\s+1\s+0/);
    expect(text.stdout).toContain("result: OK");
  });

  it("a tampered key is a violation naming it: command status, session version, lane head, idempotency holder, seq, a stray key", async () => {
    // a copy of the journal in db 2, tampered there
    await client.select(1);
    for (const k of await client.keys(`${P}*`)) await client.copy(k, k, "DB", 2);
    await client.select(2);
    await client.hset(`${P}cmd:a-set-1`, "status", "queued");
    await client.hset(`${P}sess:a`, "version", "9");
    await client.hset(`${P}lanes`, "session:a", "2");
    await client.hset(`${P}idem:9:session:a:key-3`, "cmd", "a-set-4");
    await client.hset(`${P}cmd:ghost`, "status", "succeeded", "revision", "2");
    const { code, report } = await audit(redis.url(2));
    expect(code).toBe(2);
    const named = (report?.violations ?? []).filter((v) => v.invariant === "redis_materialized_keys").map((v) => v.evidence.key);
    expect(named.sort()).toEqual([`${P}cmd:a-set-1`, `${P}cmd:ghost`, `${P}idem:9:session:a:key-3`, `${P}lanes`, `${P}sess:a`].sort());
    expect(report?.invariants.redis_materialized_keys).toEqual({ checks: 1, violations: 5 });
    // the replay audit itself reads the journal stream, which nobody touched
    expect(report?.violations.filter((v) => v.invariant !== "redis_materialized_keys")).toEqual([]);
    const status = report!.violations.find((v) => v.evidence.key === `${P}cmd:a-set-1`)!;
    expect(status).toMatchObject({ commandId: "a-set-1", message: expect.stringContaining(`status "queued"`) });
    const text = await runCli(["audit", "--store", redis.url(2)]);
    expect(text.code).toBe(2);
    expect(text.stdout).toContain("result: FAILED — 5 in Redis's materialized keys");
    // a missing key is one too
    await client.del(`${P}sess:a`, `${P}cmd:ghost`, `${P}seq`);
    const again = await audit(redis.url(2));
    expect(again.report?.violations.map((v) => v.evidence.key).sort()).toEqual([`${P}cmd:a-set-1`, `${P}idem:9:session:a:key-3`, `${P}lanes`, `${P}seq`, `${P}sess:a`].sort());
  });

  it("a Redis db without a journal is refused (exit 1), and nothing is created", async () => {
    const { code, stderr } = await audit(redis.url(5));
    expect(code).toBe(1);
    expect(stderr).toContain("no causeway journal at");
    await client.select(5);
    expect(await client.dbsize()).toBe(0);
  });

  it("causeway export --store: the Redis journal's trace; imported into SQLite it audits clean and exports the same trace", async () => {
    const dir = tempDir("causeway-redis-export-");
    const fromRedis = await runCli(["export", "--store", redis.url(1)]);
    expect(fromRedis.stderr).toBe("");
    expect(fromRedis.code).toBe(0);
    const lines = fromRedis.stdout.trim().split("\n");
    const records = lines.slice(1).map((l) => JSON.parse(l) as { seq: number; commandId: string });
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));
    expect(new Set(records.map((r) => r.commandId))).toEqual(new Set(["a-create", "b-create", "a-set-0", "a-set-1", "a-set-2", "a-set-3", "a-set-4", "a-stale", "b-delete"]));
    const trace = join(dir, "trace.jsonl");
    writeFileSync(trace, fromRedis.stdout);
    const db = join(dir, "copy.db");
    const imported = await runCli(["import", trace, "--db", db]);
    expect(imported.code, imported.stderr).toBe(0);
    const audited = await runCli(["audit", "--db", db, "--commands", TEST_COMMANDS]);
    expect(audited.code, audited.stdout).toBe(0);
    const again = await runCli(["export", "--db", db]);
    const header = (l: string): Record<string, unknown> => ({ ...(JSON.parse(l) as Record<string, unknown>), exportedAt: null });
    expect(header(again.stdout.split("\n")[0]!)).toEqual(header(lines[0]!));
    expect(again.stdout.trim().split("\n").slice(1)).toEqual(lines.slice(1));
  });
});
