/**
 * #17 WAL checkpoints off the main thread: with `checkpointIntervalMs` a worker thread copies the
 * WAL into the database file, the writer's own automatic checkpoint is raised to the safety bound,
 * a worker that dies hands checkpoints back to the writer, and nothing committed is lost; the writer
 * finishes a long WAL the worker has nearly copied, so it restarts under sustained load too.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_AUTOCHECKPOINT_PAGES, RESTART_PAGES, SAFETY_PAGES, WAL_SIZE_LIMIT_BYTES } from "../../src/journal/checkpointer.js";
import { SqliteStore } from "../../src/journal/sqlite-store.js";
import type { JournalRecord } from "../../src/journal/types.js";
import { RecordBuilder, tempDir } from "./helpers.js";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function fileStore(opts: { checkpointIntervalMs: number }): { store: SqliteStore; path: string; reopen: () => SqliteStore } {
  const tmp = tempDir("causeway-ckpt-");
  const path = join(tmp.dir, "c.db");
  const stores: SqliteStore[] = [];
  const make = (): SqliteStore => {
    const s = new SqliteStore({ path, durability: "full", ...opts });
    stores.push(s);
    s.open();
    return s;
  };
  cleanups.push(() => {
    for (const s of stores) s.close();
    tmp.cleanup();
  });
  return { store: make(), path, reopen: make };
}

/** `n` accepted records with 2 KB params each (about one WAL page per record) */
function batch(b: RecordBuilder, from: number, n: number): JournalRecord[] {
  return Array.from({ length: n }, (_, i) => b.record("accepted", `c${from + i}`, `s${i % 8}`, { explicitId: true, params: { pad: "x".repeat(2048) }, timeoutMs: 1000 }));
}

const autocheckpoint = (s: SqliteStore): number => s.database().pragma("wal_autocheckpoint", { simple: true }) as number;

describe("#17 WAL checkpoints in a worker thread", () => {
  it("#17 the worker checkpoints what the writer committed; the writer's own checkpoint waits for the safety bound; all of it reopens", async () => {
    const { store, path, reopen } = fileStore({ checkpointIntervalMs: 60_000 });
    const cp = store.checkpoints()!;
    expect(cp.stats().running).toBe(true);
    expect(autocheckpoint(store)).toBe(SAFETY_PAGES);
    const b = new RecordBuilder();
    // 1,500 pages or so: past SQLite's default 1000-page checkpoint, which the writer no longer runs
    for (let i = 0; i < 15; i++) store.commit(batch(b, i * 100, 100));
    const walBefore = statSync(`${path}-wal`).size;
    expect(walBefore).toBeGreaterThan(DEFAULT_AUTOCHECKPOINT_PAGES * 4096); // the writer did not checkpoint at 1000 pages
    expect(cp.stats().framesCheckpointed).toBe(0);
    await cp.nextReport(); // ask the worker for a checkpoint now instead of in 60 s
    const st = cp.stats();
    expect(st.lastError).toBeNull();
    expect(st.checkpoints).toBe(1);
    expect(st.framesCheckpointed).toBeGreaterThan(DEFAULT_AUTOCHECKPOINT_PAGES);
    // the pages are in the database file now: a new WAL generation starts at the next commit
    store.commit(batch(b, 1500, 1));
    expect(statSync(path).size).toBeGreaterThan(1500 * 2048);
    store.close();
    const again = reopen();
    expect(again.getCommand("c0")?.commandId).toBe("c0");
    expect(again.getCommand("c1500")?.commandId).toBe("c1500");
    expect(again.readJournal({ afterSeq: 1500, limit: 10 }).map((r) => r.commandId)).toEqual(["c1500"]);
  });

  it("#17 a worker that dies gives checkpoints back to the writer (SQLite's 1000 pages)", async () => {
    const { store } = fileStore({ checkpointIntervalMs: 60_000 });
    const cp = store.checkpoints()!;
    expect(autocheckpoint(store)).toBe(SAFETY_PAGES);
    await cp.terminateForTest();
    await expect.poll(() => cp.stats().running).toBe(false);
    expect(cp.stats().lastError).toMatch(/exited/);
    expect(autocheckpoint(store)).toBe(DEFAULT_AUTOCHECKPOINT_PAGES);
    // and the store writes on
    store.commit(batch(new RecordBuilder(), 0, 3));
    expect(store.getCommand("c2")?.commandId).toBe("c2");
  });

  it("#17 0 (and :memory:) leave checkpoints to the writer; close stops the worker", () => {
    const { store } = fileStore({ checkpointIntervalMs: 0 });
    expect(store.checkpoints()).toBeNull();
    expect(autocheckpoint(store)).toBe(DEFAULT_AUTOCHECKPOINT_PAGES);
    const mem = new SqliteStore({ path: ":memory:", durability: "off", checkpointIntervalMs: 50 });
    mem.open();
    expect(mem.checkpoints()).toBeNull();
    mem.close();
    const { store: withWorker, path } = fileStore({ checkpointIntervalMs: 50 });
    const cp = withWorker.checkpoints()!;
    withWorker.close();
    expect(cp.stats().running).toBe(false);
    expect(existsSync(path)).toBe(true);
  });

  it("#17 the writer finishes a long WAL once the worker has copied nearly all of it (so the WAL restarts), not before", async () => {
    const { store, path } = fileStore({ checkpointIntervalMs: 60_000 });
    const cp = store.checkpoints()!;
    const b = new RecordBuilder();
    for (let i = 0; i < 5; i++) store.commit(batch(b, i * 100, 100));
    // a reader's snapshot pins the WAL: the worker can copy only what it holds
    const reader = new Database(path, { readonly: true });
    cleanups.push(() => reader.close());
    reader.prepare("BEGIN").run();
    reader.prepare("SELECT count(*) FROM journal").get();
    for (let i = 5; i < 30; i++) store.commit(batch(b, i * 100, 100));
    await cp.nextReport();
    const pinned = cp.stats();
    expect(pinned.walFrames).toBeGreaterThanOrEqual(RESTART_PAGES);
    expect(pinned.writerFinishes).toBe(0); // most of the WAL is not copied yet: not the writer's job
    reader.prepare("COMMIT").run();
    await cp.nextReport();
    expect(cp.stats().writerFinishes).toBe(1); // nearly all copied: the writer finished it
    // the next commit starts the WAL from its beginning, and the file was cut back
    store.commit(batch(b, 3000, 1));
    await cp.nextReport();
    expect(cp.stats().walFrames).toBeLessThan(RESTART_PAGES / 4);
    expect(statSync(`${path}-wal`).size).toBeLessThanOrEqual(WAL_SIZE_LIMIT_BYTES);
    expect(store.getCommand("c2999")?.commandId).toBe("c2999");
  });
});
