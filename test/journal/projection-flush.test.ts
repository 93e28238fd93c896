/**
 * #17 a projection flush in a transaction of its own (before a read, or by the idle timer) holds
 * only derived rows and the watermark, which a catch-up rebuilds from the journal: it commits at
 * `synchronous = NORMAL` (no fsync wait) and puts the store's level back afterwards, also when it
 * fails. A flush that rides on a batch's commit keeps the batch's level (its journal rows need it).
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteStore } from "../../src/journal/sqlite-store.js";
import { RecordBuilder, tempDir } from "./helpers.js";

const FULL = 2;
const NORMAL = 1;

const dirs: Array<{ cleanup: () => void }> = [];
const stores: SqliteStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) d.cleanup();
});

/** A file store with durability full whose projection is never due by time (flushes only when asked). */
function open(): SqliteStore {
  const d = tempDir();
  dirs.push(d);
  const store = new SqliteStore({ path: join(d.dir, "j.db"), durability: "full", projectionFlushMs: 3_600_000, projectionMaxRecords: 50_000 });
  stores.push(store);
  store.open();
  return store;
}

/** The `synchronous` level seen by every write of the `commands` table (a trigger calls a probe function). */
function watchLevel(store: SqliteStore): number[] {
  const db = store.database();
  const seen: number[] = [];
  // a user function cannot run a pragma on its own connection while a statement runs, so the
  // probe reads the level the store set last, through a wrapper of db.pragma
  let level = db.pragma("synchronous", { simple: true }) as number;
  const pragma = db.pragma.bind(db);
  db.pragma = ((source: string, options?: { simple?: boolean }) => {
    const m = /^synchronous\s*=\s*(\d+)$/.exec(source.trim());
    if (m) level = Number(m[1]);
    return pragma(source, options);
  }) as typeof db.pragma;
  db.function("cw_probe_level", () => {
    seen.push(level);
    return null;
  });
  db.exec("CREATE TEMP TRIGGER probe_commands AFTER INSERT ON main.commands BEGIN SELECT cw_probe_level(); END;");
  return seen;
}

describe("#17 projection flush on its own: synchronous NORMAL", () => {
  it("#17 a flush before a read commits its derived rows at NORMAL, and the store is back at FULL after it", () => {
    const store = open();
    const seen = watchLevel(store);
    const b = new RecordBuilder();
    store.commit([b.record("accepted", "c1", "s1", { explicitId: true, params: {}, timeoutMs: 1000 })]);
    expect(seen).toEqual([]); // deferred: the batch wrote no commands row
    expect(store.getCommand("c1")).toMatchObject({ status: "queued" }); // the read flushes first
    expect(seen).toEqual([NORMAL]);
    expect(store.database().pragma("synchronous", { simple: true })).toBe(FULL);
  });

  it("#17 a flush that rides on a batch's commit keeps the batch's level (FULL)", () => {
    const d = tempDir();
    dirs.push(d);
    // due on every batch: each commit flushes inside its own transaction
    const store = new SqliteStore({ path: join(d.dir, "j.db"), durability: "full", projectionFlushMs: 1, projectionMaxRecords: 1 });
    stores.push(store);
    store.open();
    const seen = watchLevel(store);
    const b = new RecordBuilder();
    store.commit([b.record("accepted", "c1", "s1", { explicitId: true, params: {}, timeoutMs: 1000 })]);
    expect(seen).toEqual([FULL]);
  });

  it("#17 a flush that fails still puts the level back, and the next read catches up from the journal", () => {
    const store = open();
    const db = store.database(); // (database() flushes too: taken before the batch)
    const b = new RecordBuilder();
    store.commit([b.record("accepted", "c1", "s1", { explicitId: true, params: {}, timeoutMs: 1000 })]);
    // the deferred insert is refused: the flush fails
    db.exec("CREATE TEMP TRIGGER refuse_commands BEFORE INSERT ON main.commands BEGIN SELECT RAISE(ABORT, 'refused by test'); END;");
    expect(() => store.getCommand("c1")).toThrow(/refused by test/);
    expect(db.pragma("synchronous", { simple: true })).toBe(FULL);
    db.exec("DROP TRIGGER refuse_commands");
    expect(store.getCommand("c1")).toMatchObject({ status: "queued" });
    expect(db.pragma("synchronous", { simple: true })).toBe(FULL);
  });
});
