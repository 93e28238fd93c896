/**
 * Issue #15 item 4, at the store: a batch committed after the journal's files were deleted or
 * replaced is not reported durable, even when no heartbeat ran in between, and the store stays
 * failed (fail closed) with `stats().failure` set and one error logged naming the file.
 */
import { renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SqliteStore } from "../../src/journal/sqlite-store.js";
import { JournalWriteError, type StoreLog } from "../../src/journal/types.js";
import { RecordBuilder, tempDir } from "./helpers.js";

let tmp: { dir: string; cleanup: () => void };
const stores: SqliteStore[] = [];
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  tmp.cleanup();
});

function logged(): StoreLog & { errors: Array<{ obj: object; msg: string }> } {
  const errors: Array<{ obj: object; msg: string }> = [];
  return { errors, warn: () => {}, error: (obj, msg) => errors.push({ obj, msg }) };
}

/** A store whose heartbeat never fires during the test: only the per-commit check can notice. */
function open(path: string, log: StoreLog): SqliteStore {
  const s = new SqliteStore({ path, durability: "full", leaseHeartbeatMs: 3_600_000, log });
  stores.push(s);
  s.open();
  return s;
}

const catchErr = (f: () => void): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
};

describe("#15.4 journal files deleted or replaced under the store", () => {
  it("#15.4 a commit after rm of the db, -wal and -shm fails with JournalWriteError naming the file, and so does every later commit", () => {
    const path = join(tmp.dir, "j.db");
    const log = logged();
    const s = open(path, log);
    const b = new RecordBuilder();
    s.commit([b.record("accepted", "c1", null)]);
    expect(s.stats().failure).toBeNull();

    for (const f of [path, `${path}-wal`, `${path}-shm`]) rmSync(f);
    const err = catchErr(() => s.commit([b.record("accepted", "c2", null)]));
    expect(err).toBeInstanceOf(JournalWriteError);
    expect((err as JournalWriteError).code).toBe("journal_unavailable");
    expect((err as Error).message).toMatch(new RegExp(`journal file ${path}(-wal)? was deleted while the server was running; this batch is not durable`));
    expect(s.stats().failure).toMatch(/was deleted/);

    const later = catchErr(() => s.commit([b.record("accepted", "c3", null)]));
    expect(later).toBeInstanceOf(JournalWriteError);
    expect(s.stats()).toMatchObject({ commits: 1, commitFailures: 2 });
    expect(log.errors).toHaveLength(1);
    expect(log.errors[0]!.obj).toMatchObject({ db: path });
    expect(log.errors[0]!.msg).toContain(`journal file ${path}`);
  });

  it("#15.4 a db file renamed away and replaced by another file at the same path is noticed by the next heartbeat", () => {
    // the heartbeat's interval timer is driven by the test: no waiting on wall time
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    try {
      const path = join(tmp.dir, "j.db");
      const log = logged();
      const s = new SqliteStore({ path, durability: "full", leaseHeartbeatMs: 20, log });
      stores.push(s);
      s.open();
      const b = new RecordBuilder();
      s.commit([b.record("accepted", "c1", null)]);
      renameSync(path, join(tmp.dir, "moved.db"));
      new Database(path).close(); // an unrelated empty file now sits at the journal's path
      expect(s.stats().failure).toBeNull();
      vi.advanceTimersByTime(20);
      expect(s.stats().failure).toBe(`journal file ${path} was replaced by another file while the server was running`);
      expect(log.errors).toHaveLength(1);
      expect(() => s.commit([b.record("accepted", "c2", null)])).toThrow(/was replaced by another file/);
    } finally {
      vi.useRealTimers();
    }
  });
});
