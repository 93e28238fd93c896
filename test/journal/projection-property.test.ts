/**
 * #17 the derived tables as a projection (src/journal/projection.ts): a store whose derived rows wait
 * for a flush (`projectionFlushMs`, `projectionMaxRecords`) must answer exactly like a store that
 * writes them with every batch (`projectionFlushMs: 0`), on random batches (batch-ops.ts) including
 * refused ones: the same commit / refusal (same message), and at random points the same reads
 * (getCommand, getIdempotency, history, entries, detail, every derived table), and, after a "crash"
 * (the file copied as a kill -9 would leave it: journal committed, derived tables behind the
 * watermark) and a reopen, the same recovered state.
 * Replay a failure with FC_SEED=<seed>.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { readWatermark } from "../../src/journal/projection.js";
import { SqliteStore } from "../../src/journal/sqlite-store.js";
import type { JournalRecord, RecoveredState } from "../../src/journal/types.js";
import { Model, batchesArb, buildBatch, attempt } from "./batch-ops.js";
import { RecordBuilder, dumpTables, tempDir } from "./helpers.js";

const seed = Number(process.env.FC_SEED ?? Date.now());
console.log(`fast-check seed ${seed} (replay: FC_SEED=${seed})`);

const dirs: Array<{ cleanup: () => void }> = [];
const stores: SqliteStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) d.cleanup();
});

function open(path: string, flushMs: number, maxRecords = 50_000): { store: SqliteStore; recovered: RecoveredState } {
  const store = new SqliteStore({ path, durability: "off", projectionFlushMs: flushMs, projectionMaxRecords: maxRecords, takeOverLease: true });
  stores.push(store);
  const recovered = store.open();
  delete recovered.staleLeaseTakenOver;
  return { store, recovered };
}

/** Every read the store answers from the derived tables. */
function reads(s: SqliteStore, ids: string[], keys: Array<{ scope: string; key: string }>): unknown {
  const db = s.database();
  const tables = dumpTables(db);
  for (const t of ["decisions", "command_tags", "command_dependencies", "clock_regressions"]) tables[t] = db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2, 3`).all();
  return {
    commands: ids.map((id) => s.getCommand(id) ?? null),
    keys: keys.map((k) => s.getIdempotency(k.scope, k.key, 0) ?? null),
    history: s.history({ limit: 500 }),
    entries: s.historyEntries({ commandIds: ids.slice(0, 50), order: "oldest", limit: 500 }),
    detail: ids.slice(0, 10).map((id) => s.commandDetail(id, { maxRows: 100 }) ?? null),
    tables,
  };
}

/** The file as a kill -9 would leave it: what is committed (journal rows; derived tables as of the last flush). */
function crashCopy(path: string, to: string): void {
  const ro = new Database(path, { readonly: true, fileMustExist: true });
  try {
    ro.prepare("VACUUM INTO ?").run(to);
  } finally {
    ro.close();
  }
}

type Step = "none" | "read" | "crash";
const stepsArb = fc.array(fc.constantFrom<Step>("none", "none", "none", "read", "crash"), { minLength: 10, maxLength: 10 });

describe("#17 the derived tables as a projection: property", () => {
  it("#17 a deferring store answers every read, refusal and recovered state exactly like a per-batch store (random batches, reads and crash-reopens)", () => {
    let refused = 0;
    let lagged = 0;
    let runs = 0;
    fc.assert(
      fc.property(batchesArb, stepsArb, fc.integer({ min: 1, max: 60 }), (batches, steps, maxRecords) => {
        const tmp = tempDir("causeway-projection-");
        dirs.push(tmp);
        const refPath = join(tmp.dir, "ref.db");
        let path = join(tmp.dir, "p0.db");
        let ref = open(refPath, 0).store;
        let deferred = open(path, 60_000, maxRecords).store;
        const b = new RecordBuilder();
        const model = new Model(b);
        for (const [k, ops] of batches.entries()) {
          const { built, batch } = buildBatch(model, ops);
          const why = attempt(ref, batch);
          expect(attempt(deferred, batch)).toBe(why);
          if (why !== null) {
            refused++;
            b.rewind(built);
          }
          model.load(ref);
          const step = steps[k % steps.length]!;
          if (step === "read") {
            const refDb = ref.database();
            const ids = (refDb.prepare("SELECT command_id FROM commands ORDER BY command_id").all() as Array<{ command_id: string }>).map((r) => r.command_id);
            const keys = refDb.prepare("SELECT scope, key FROM idempotency ORDER BY scope, key").all() as Array<{ scope: string; key: string }>;
            expect(reads(deferred, [...ids, "never-admitted"], keys)).toEqual(reads(ref, [...ids, "never-admitted"], keys));
          } else if (step === "crash") {
            const copy = join(tmp.dir, `p${k + 1}.db`);
            crashCopy(path, copy);
            const w = new Database(copy, { readonly: true });
            const watermark = readWatermark(w);
            const last = (w.prepare("SELECT coalesce(max(seq), 0) AS s FROM journal").get() as { s: number }).s;
            w.close();
            if (watermark !== undefined && watermark < last) lagged++;
            stores.splice(stores.indexOf(deferred), 1);
            deferred.close();
            stores.splice(stores.indexOf(ref), 1);
            ref.close();
            const reopenedRef = open(refPath, 0);
            ref = reopenedRef.store;
            const reopened = open(copy, 60_000, maxRecords);
            deferred = reopened.store;
            path = copy;
            expect(reopened.recovered).toEqual(reopenedRef.recovered);
          }
        }
        runs++;
        for (const s of stores.splice(0)) s.close();
        for (const d of dirs.splice(0)) d.cleanup();
      }),
      { seed, numRuns: Number(process.env.FC_RUNS ?? 60) },
    );
    console.log(`#17 projection property: ${runs} runs, ${refused} refused batches, ${lagged} crash copies with a lagging projection`);
    expect(refused).toBeGreaterThan(20);
    expect(lagged).toBeGreaterThan(5);
  });
});
