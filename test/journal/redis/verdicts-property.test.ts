/**
 * #18 the Redis store's commit script against the SQLite store, on random batches (batch-ops.ts:
 * legal command lives with stale revisions, illegal targets, duplicate ids, held keys, session
 * version conflicts, seq gaps and unknown phases mixed in): the same batch committed to a
 * SqliteStore(:memory:) and to a RedisStore must be accepted or refused alike — refused naming the
 * same record — and leave the same commands and history. The Redis store's reads come from its
 * projection, so a batch Redis accepted and SQLite refused would also fail it closed (divergence).
 * Replay a failure with FC_SEED=<seed>; FC_RUNS sets the number of runs (default 25: each run opens
 * a Redis journal of its own).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../../src/journal/types.js";
import { startRedis, type TestRedis } from "../../helpers/redis-server.js";
import { batchesArb } from "../batch-ops.js";
import { openPair } from "./paired.js";

const seed = Number(process.env.FC_SEED ?? Date.now());
console.log(`fast-check seed ${seed} (replay: FC_SEED=${seed})`);

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

function snapshot(s: Store, ids: string[]): unknown {
  return { commands: ids.map((id) => s.getCommand(id) ?? null), history: s.history({ order: "oldest", limit: 1000 }).items };
}

describe("#18 Redis store: same verdicts as SQLite (property)", () => {
  it("#18 random batches: RedisStore accepts and refuses exactly what SqliteStore does, and reads back the same commands and history", () => {
    let committed = 0;
    let refused = 0;
    let journals = 0;
    fc.assert(
      fc.property(batchesArb, (batches) => {
        const p = openPair(redis.url(), `prop-${seed}-${journals++}`);
        try {
          for (const ops of batches) {
            if (p.commit(ops) === null) committed++;
            else refused++;
            expect(snapshot(p.store, [...p.ids])).toEqual(snapshot(p.reference, [...p.ids]));
          }
          expect(p.store.stats().failure).toBeNull();
        } finally {
          p.close();
        }
      }),
      { seed, numRuns: Number(process.env.FC_RUNS ?? 25) },
    );
    // both kinds of batch were exercised
    expect(committed).toBeGreaterThan(15);
    expect(refused).toBeGreaterThan(15);
  });
});
