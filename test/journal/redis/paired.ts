/**
 * One random batch (batch-ops.ts) committed to a reference SqliteStore and to a RedisStore, for the
 * #18 property tests: both must accept it, or both refuse it naming the same record.
 */
import { expect } from "vitest";
import { RedisStore } from "../../../src/journal/redis/redis-store.js";
import { SqliteStore } from "../../../src/journal/sqlite-store.js";
import type { JournalRecord, Store } from "../../../src/journal/types.js";
import { Model, attempt, buildBatch, type Op } from "../batch-ops.js";
import { RecordBuilder } from "../helpers.js";

/** null: committed; else the refusal's message */
export { attempt };

/** The refusal up to the reason: which record was refused. */
export const refusedRecord = (why: string | null): string | null => (why === null ? null : (/^journal commit rolled back: (record #\d+ \([^)]*\))/.exec(why)?.[1] ?? why));

/** Build the batch of `ops`, commit it to both, expect the same verdict; a refused batch's numbering is taken back. Returns the reference's refusal (null: committed). */
export function commitBoth(b: RecordBuilder, model: Model, ops: Op[], ids: Set<string>, reference: SqliteStore, store: Store): string | null {
  const { built, batch } = buildBatch(model, ops);
  for (const r of built) ids.add(r.commandId);
  const why = attempt(reference, batch);
  expect(refusedRecord(attempt(store, batch))).toBe(refusedRecord(why));
  if (why !== null) b.rewind(built);
  model.load(reference);
  return why;
}

/** A reference SqliteStore(:memory:) and a RedisStore (journal `name`), open, with the builder and model that number their batches. */
export interface Pair {
  reference: SqliteStore;
  store: RedisStore;
  b: RecordBuilder;
  model: Model;
  /** every command id a batch named */
  ids: Set<string>;
  /** commitBoth on this pair */
  commit(ops: Op[]): string | null;
  close(): void;
}

export function openPair(url: string, name: string): Pair {
  const reference = new SqliteStore({ path: ":memory:", durability: "off" });
  const store = new RedisStore({ url, name });
  reference.open();
  try {
    store.open();
  } catch (err) {
    reference.close();
    throw err;
  }
  const b = new RecordBuilder();
  const model = new Model(b);
  const ids = new Set<string>();
  return {
    reference,
    store,
    b,
    model,
    ids,
    commit: (ops) => commitBoth(b, model, ops, ids, reference, store),
    close: () => {
      store.close();
      reference.close();
    },
  };
}
