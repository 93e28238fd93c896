/**
 * A Redis journal read and checked from outside causeway (its stream, `causeway audit --store`),
 * for the tests of the Redis store and of several nodes on it.
 */
import { join } from "node:path";
import { Redis } from "ioredis";
import { expect } from "vitest";
import type { JournalRecord } from "../../src/journal/record.js";
import { keyspace } from "../../src/journal/redis/keyspace.js";
import type { TestRedis } from "./redis-server.js";
import { TEST_COMMANDS, runCli, spawnServer, tempDir, type SpawnedServer } from "./spawn.js";

/** the node lease of the multi-node tests: short, so a takeover comes quickly */
export const LEASE_MS = 1_500;

/** Node `name` on `redis` db `n` (lease LEASE_MS), its projection in a data dir of its own. */
export function nodeOn(redis: TestRedis, n: number, name: string, args: string[] = [], dataDir = tempDir(`causeway-node-${name}-`)): Promise<SpawnedServer> {
  return spawnServer({ db: join(dataDir, "causeway.db"), args: ["--store", redis.url(n), "--node", name, "--node-url", `ws://${name}.example:3000/`, "--redis-lease-ttl-ms", String(LEASE_MS), ...args] });
}

/** Every record of the Redis journal in db `n`, read from its stream (each entry's id is its seq). */
export async function streamRecords(redis: TestRedis, n: number): Promise<JournalRecord[]> {
  const client = new Redis(redis.url(n));
  try {
    const entries = await client.xrange(keyspace("causeway").journal, "-", "+");
    return entries.map(([id, fields]) => {
      const r = JSON.parse(fields[fields.indexOf("r") + 1]!) as JournalRecord;
      expect(id).toBe(`${r.seq}-0`);
      return r;
    });
  } finally {
    client.disconnect();
  }
}

/** Gap-free seq over the whole journal and per lane. */
export function expectGapFree(records: JournalRecord[]): void {
  records.forEach((r, i) => expect(r.seq).toBe(i + 1));
  const lanes = new Map<string, number>();
  for (const r of records) {
    expect(r.laneSeq, `lane ${r.lane} at seq ${r.seq}`).toBe((lanes.get(r.lane) ?? 0) + 1);
    lanes.set(r.lane, r.laneSeq);
  }
}

/** `causeway audit --store` on the Redis journal: the replay audit and Redis's own keys both pass. */
export async function expectAuditPasses(url: string): Promise<void> {
  const res = await runCli(["audit", "--store", url, "--commands", TEST_COMMANDS, "--json"]);
  const report = JSON.parse(res.stdout) as { ok: boolean; violations: unknown[]; invariants: Record<string, { checks: number }> };
  expect(report.violations).toEqual([]);
  expect(res.code).toBe(0);
  expect(report.invariants.redis_materialized_keys).toEqual({ checks: 1, violations: 0 });
}
