import { spawnSync } from "node:child_process";
import { existsSync, linkSync, symlinkSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { isPidAlive } from "../../src/journal/lease.js";
import { SqliteStore } from "../../src/journal/sqlite-store.js";
import { StoreOpenError } from "../../src/journal/types.js";
import { RecordBuilder, tempDir } from "./helpers.js";

let tmp: { dir: string; cleanup: () => void };
const open: SqliteStore[] = [];
const store = (path: string, opts: Partial<ConstructorParameters<typeof SqliteStore>[0]> = {}) => {
  const s = new SqliteStore({ path, durability: "normal", ...opts });
  open.push(s);
  return s;
};
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => {
  for (const s of open.splice(0)) s.close();
  tmp.cleanup();
});

function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", ""]);
  expect(child.pid).toBeGreaterThan(0);
  expect(isPidAlive(child.pid!)).toBe(false);
  return child.pid!;
}

function plantLease(path: string, row: { pid: number; host: string; heartbeatAt: number; startedAt?: number; token?: string }) {
  const db = new Database(path);
  db.prepare(
    `INSERT OR REPLACE INTO lease (id, holder_pid, holder_host, holder_started_at, heartbeat_at, heartbeat_ms, token)
     VALUES (1, ?, ?, ?, ?, 2000, ?)`,
  ).run(row.pid, row.host, row.startedAt ?? row.heartbeatAt, row.heartbeatAt, row.token ?? "someone-else");
  db.close();
}

function initDb(path: string) {
  const s = store(path);
  s.open();
  s.close();
}

describe("single-writer lease", () => {
  it("a second store on the same file refuses while the first is open, and opens after it closes", () => {
    const path = join(tmp.dir, "causeway.db");
    const first = store(path);
    first.open();
    const second = store(path);
    let err: unknown;
    try {
      second.open();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreOpenError);
    expect((err as StoreOpenError).code).toBe("journal_locked");
    expect((err as Error).message).toMatch(
      new RegExp(
        `^database ${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is in use by pid ${process.pid} on host ${hostname()} \\(since \\d{4}-\\d\\d-\\d\\dT.*Z, last heartbeat \\d+\\.\\d s ago at \\d{4}-.*Z\\); ` +
          `if no causeway is running on it, start with --take-over-lease \\(env CAUSEWAY_TAKE_OVER_LEASE=true, config "takeOverLease": true\\) to take the lease over$`,
      ),
    );
    // the refused opener left the holder's lease and data alone
    const b = new RecordBuilder();
    first.commit([b.record("accepted", "c1", null)]);
    first.close();

    const r = second.open();
    expect(r.lastSeq).toBe(1);
    expect(r.staleLeaseTakenOver).toBeUndefined(); // close() released the lease cleanly
  });

  it("close() deletes the lease row", () => {
    const path = join(tmp.dir, "c.db");
    const s = store(path);
    s.open();
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare("SELECT holder_pid, holder_host, token FROM lease").get()).toEqual({
      holder_pid: process.pid,
      holder_host: hostname(),
      token: s.leaseToken,
    });
    s.close();
    expect(raw.prepare("SELECT count(*) AS n FROM lease").get()).toEqual({ n: 0 });
    raw.close();
  });

  it("takes over a lease whose holder pid on this host is dead, and reports it", () => {
    const path = join(tmp.dir, "dead.db");
    initDb(path);
    const pid = deadPid();
    const heartbeatAt = Date.now();
    plantLease(path, { pid, host: hostname(), heartbeatAt });
    const s = store(path);
    const r = s.open();
    expect(r.staleLeaseTakenOver).toEqual({ pid, host: hostname(), startedAt: heartbeatAt, heartbeatAt });
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare("SELECT holder_pid FROM lease").get()).toEqual({ holder_pid: process.pid });
    raw.close();
  });

  it("#15.7 a live pid on this host: refused while its heartbeat is fresh, stale once it is older than 10 intervals (a recycled pid)", () => {
    const path = join(tmp.dir, "live.db");
    initDb(path);
    let now = 1_000_000;
    plantLease(path, { pid: process.ppid, host: hostname(), heartbeatAt: now - 19_000 });
    const s = store(path, { now: () => now, leaseHeartbeatMs: 2000 });
    expect(() => s.open()).toThrow(new RegExp(`is in use by pid ${process.ppid} .*last heartbeat 19\\.0 s ago .*--take-over-lease`));
    now += 1_000; // 20 s = 10 x 2000 ms
    const log = { warn: vi.fn(), error: vi.fn() };
    const t = store(path, { now: () => now, leaseHeartbeatMs: 2000, log });
    expect(t.open().staleLeaseTakenOver).toMatchObject({ pid: process.ppid, host: hostname() });
    expect(log.warn).toHaveBeenCalledWith(expect.objectContaining({ takeover: "stale" }), expect.stringMatching(new RegExp(`pid ${process.ppid} is alive .*no heartbeat for 20\\.0 s`)));
  });

  it("#15.7 takeOverLease takes a live holder's lease, logs it, and the old holder never commits again", () => {
    const path = join(tmp.dir, "forced.db");
    const first = store(path);
    first.open();
    const b = new RecordBuilder();
    first.commit([b.record("accepted", "c1", null)]);
    const log = { warn: vi.fn(), error: vi.fn() };
    const second = store(path, { takeOverLease: true, log });
    const r = second.open();
    expect(r.staleLeaseTakenOver).toBeUndefined();
    expect(r.lastSeq).toBe(1);
    expect(log.warn).toHaveBeenCalledWith(expect.objectContaining({ takeover: "forced", previousHolder: expect.objectContaining({ pid: process.pid }) }), expect.stringMatching(/took over the journal lease of pid \d+ .*taken over by takeOverLease/));
    // the first holder finds out inside its very next commit transaction, before any heartbeat
    expect(() => first.commit([b.record("accepted", "c2", null)])).toThrow(/lease was taken over by another process/);
    expect(first.stats().failure).toMatch(/taken over/);
    const c = new RecordBuilder({ seq: 1, lanes: [{ lane: "server", laneSeq: 1 }] });
    second.commit([c.record("accepted", "c2", null)]);
    expect(second.stats().commits).toBe(1);
  });

  it("#15.7 a hard link to the journal is refused (journal_linked) before anything opens it, even while its holder runs", () => {
    const path = join(tmp.dir, "one.db");
    const first = store(path);
    first.open();
    const link = join(tmp.dir, "two.db");
    linkSync(path, link);
    let err: unknown;
    try {
      store(link).open();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreOpenError);
    expect((err as StoreOpenError).code).toBe("journal_linked");
    expect((err as Error).message).toMatch(/^database .*two\.db has 2 hard links \(device \d+, inode \d+\): SQLite gives each path its own -wal file/);
    expect(existsSync(`${link}-wal`)).toBe(false);
    expect(existsSync(`${link}-shm`)).toBe(false);
  });

  it("another host: refuses a fresh heartbeat, takes over one older than 3 intervals", () => {
    const path = join(tmp.dir, "remote.db");
    initDb(path);
    let now = 1_000_000;
    plantLease(path, { pid: 4242, host: "elsewhere.example", heartbeatAt: now - 5_000 });
    const s = store(path, { now: () => now, leaseHeartbeatMs: 2000 });
    expect(() => s.open()).toThrow(/in use by pid 4242 on host elsewhere\.example/);
    now += 1_001; // heartbeat now 6001 ms old > 3 x 2000
    expect(s.open().staleLeaseTakenOver).toMatchObject({ pid: 4242, host: "elsewhere.example" });
  });

  it("our own pid with a token no open store of this process holds is a previous incarnation", () => {
    const path = join(tmp.dir, "reused.db");
    initDb(path);
    plantLease(path, { pid: process.pid, host: hostname(), heartbeatAt: Date.now() - 60_000 });
    expect(store(path).open().staleLeaseTakenOver).toMatchObject({ pid: process.pid });
  });

  it("the heartbeat refreshes heartbeat_at, and a lost lease makes commits fail", () => {
    // the heartbeat's interval timer and clock are driven by the test: no waiting on wall time
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    try {
      let now = 1_000_000;
      const path = join(tmp.dir, "hb.db");
      const s = store(path, { leaseHeartbeatMs: 20, now: () => now });
      s.open();
      const raw = new Database(path);
      const first = (raw.prepare("SELECT heartbeat_at AS h FROM lease").get() as { h: number }).h;
      now += 50;
      vi.advanceTimersByTime(20);
      const later = (raw.prepare("SELECT heartbeat_at AS h FROM lease").get() as { h: number }).h;
      expect(later).toBeGreaterThan(first);
      // someone steals the lease behind our back; the next heartbeat notices
      raw.prepare("UPDATE lease SET token = 'thief'").run();
      vi.advanceTimersByTime(20);
      const b = new RecordBuilder();
      expect(() => s.commit([b.record("accepted", "c1", null)])).toThrow(/lease/);
      raw.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it("#15.7 within one process, another path to an open journal's file (a symlink) is refused: the journal is its device + inode", () => {
    const path = join(tmp.dir, "real.db");
    store(path).open();
    const alias = join(tmp.dir, "alias.db");
    symlinkSync(path, alias);
    expect(() => store(alias).open()).toThrow(new RegExp(`database .*alias\\.db is already open in this process as .*real\\.db \\(same device \\d+ and inode \\d+\\)`));
  });

  it(":memory: stores take no lease", () => {
    const a = store(":memory:");
    const b = store(":memory:");
    a.open();
    b.open();
    expect(a.leaseToken).toBeNull();
  });
});
