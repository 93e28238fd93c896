/**
 * #17 batch folding against the per-record reference, on random batches: the same records committed
 * to a folding store and to one with `foldBatches: false` (every record through the per-record
 * statements, as before #17) must commit or be refused alike, with the same message, and leave the
 * same tables. The batches: batch-ops.ts.
 * Replay a failure with FC_SEED=<seed>.
 */
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteStore } from "../../src/journal/sqlite-store.js";
import type { JournalRecord } from "../../src/journal/types.js";
import { Model, batchesArb, buildBatch, attempt } from "./batch-ops.js";
import { RecordBuilder, dumpTables } from "./helpers.js";

const seed = Number(process.env.FC_SEED ?? Date.now());
console.log(`fast-check seed ${seed} (replay: FC_SEED=${seed})`);

const stores: SqliteStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

function store(fold: boolean): SqliteStore {
  const s = new SqliteStore({ path: ":memory:", durability: "off", foldBatches: fold });
  stores.push(s);
  s.open();
  return s;
}

function derived(s: SqliteStore): Record<string, unknown[]> {
  const db = s.database();
  const out = dumpTables(db);
  for (const t of ["decisions", "command_tags", "command_dependencies", "clock_regressions"]) out[t] = db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2, 3`).all();
  return out;
}

describe("#17 batch folding: property", () => {
  it("#17 random batches: the folding store commits, refuses (same message) and materializes exactly as record by record", () => {
    let committed = 0;
    let refused = 0;
    fc.assert(
      fc.property(batchesArb, (batches) => {
        const folded = store(true);
        const reference = store(false);
        const b = new RecordBuilder();
        const model = new Model(b);
        for (const ops of batches) {
          const { built, batch } = buildBatch(model, ops);
          const why = attempt(reference, batch);
          expect(attempt(folded, batch)).toBe(why);
          if (why === null) committed++;
          else {
            refused++;
            b.rewind(built);
          }
          expect(derived(folded)).toEqual(derived(reference));
          model.load(reference);
        }
        for (const s of stores.splice(0)) s.close();
      }),
      { seed, numRuns: Number(process.env.FC_RUNS ?? 150) },
    );
    // both kinds of batch were exercised
    expect(committed).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });
});
