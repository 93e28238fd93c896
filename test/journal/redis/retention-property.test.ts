/**
 * #18 retention on Redis against SQLite (property): random batches (batch-ops.ts: governance phases,
 * tags, dependencies, clock steps, keys claimed again, sessions created / written / deleted, and
 * rows the journal refuses) committed to a SqliteStore(:memory:) and a RedisStore, with random
 * compactions in between (a random maxCommands / maxAgeMs, batchRows and clock). After every step
 * both give the same verdicts, the same CompactionReport and the same view (tables, kept rows,
 * checkpoint, history, getCommand, idempotency); at the end a read-only reader with a fresh
 * projection (the Redis checkpoint, then the stream) sees the same and Redis's keys audit clean.
 * Replay a failure with FC_SEED=<seed>; FC_RUNS sets the number of runs (default 15).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RedisStore } from "../../../src/journal/redis/redis-store.js";
import { DEFAULT_RETENTION, type RetentionPolicy } from "../../../src/journal/retention.js";
import { useRedisClient } from "../../helpers/redis-server.js";
import { opArb, type Op } from "../batch-ops.js";
import { openPair } from "./paired.js";
import { storeView } from "./store-view.js";

const seed = Number(process.env.FC_SEED ?? Date.now());
console.log(`fast-check seed ${seed} (replay: FC_SEED=${seed})`);

const r = useRedisClient();

type Step = { ops: Op[] } | { compact: { maxCommands: number | null; ageLag: number | null; batchRows: number; later: number } };
const compactArb = fc.record({ maxCommands: fc.option(fc.nat(6)), ageLag: fc.option(fc.nat(60)), batchRows: fc.integer({ min: 1, max: 25 }), later: fc.nat(2_000) });
const stepsArb: fc.Arbitrary<Step[]> = fc.array(fc.oneof({ arbitrary: fc.array(opArb, { minLength: 1, maxLength: 14 }).map((ops) => ({ ops })), weight: 3 }, { arbitrary: compactArb.map((compact) => ({ compact })), weight: 1 }), { minLength: 2, maxLength: 14 });

const KEYS: Array<[string, string]> = [0, 1, 2].flatMap((s) => [0, 1, 2].map((k): [string, string] => [`session:s${s}`, `K${k}`]));

describe("#18 retention on Redis: the same as SQLite on random journals (property)", () => {
  it("#18.26 random batches and compactions: same verdicts, reports and views; a fresh reader agrees and the keys audit clean", async () => {
    let journals = 0;
    let removed = 0;
    await fc.assert(
      fc.asyncProperty(stepsArb, async (steps) => {
        const name = `retprop-${seed}-${journals++}`;
        const p = openPair(r.redis.url(), name);
        const { b, reference, store, ids } = p;
        try {
          for (const step of steps) {
            if ("ops" in step) p.commit(step.ops);
            else {
              const c = step.compact;
              const policy: RetentionPolicy = { ...DEFAULT_RETENTION, maxCommands: c.maxCommands, maxAgeMs: c.ageLag, batchRows: c.batchRows };
              const at = b.clock + c.later;
              const expected = await reference.compact(policy, () => at);
              expect(await store.compact(policy, () => at)).toEqual(expected);
              removed += expected?.removedRows ?? 0;
            }
            expect(storeView(store, store.projectionDatabase(), [...ids], b.clock, KEYS)).toEqual(storeView(reference, reference.database(), [...ids], b.clock, KEYS));
          }
          expect(store.stats().failure).toBeNull();
          const ro = new RedisStore({ url: r.redis.url(), name, readOnly: true, snapshotKeys: true });
          ro.open();
          try {
            expect(storeView(ro, ro.projectionDatabase(), [...ids], b.clock, KEYS)).toEqual(storeView(reference, reference.database(), [...ids], b.clock, KEYS));
            expect(ro.auditMaterializedKeys()).toEqual([]);
          } finally {
            ro.close();
          }
        } finally {
          p.close();
        }
      }),
      { seed, numRuns: Number(process.env.FC_RUNS ?? 15), endOnFailure: true },
    );
    // compactions did remove rows across the runs
    expect(removed).toBeGreaterThan(0);
  }, 300_000);
});
