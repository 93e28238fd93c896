/**
 * Single-writer lease. Exactly one causeway process may write a journal file: the materialized
 * tables and the in-memory seq/lane counters of the writer are only correct if nobody else appends.
 *
 * The journal is identified by its file (device + inode), never by its path:
 *  - a database file with more than one hard link is refused (`journal_linked`, assertSingleLink):
 *    SQLite names the -wal / -shm files after the path, so each link would get its own WAL, its own
 *    write lock and its own view of the lease row — a second writer;
 *  - within this process, a second open of the same device + inode (another path) is refused.
 *
 * The lease is one row (id = 1) in the `lease` table, taken inside a BEGIN IMMEDIATE transaction
 * (so two openers serialize on SQLite's write lock) and refreshed by a heartbeat. An existing row
 * held by someone else is honoured (refusal `journal_locked`) when:
 *  - same host, the holder pid is alive (`process.kill(pid, 0)`; EPERM counts as alive) and its
 *    heartbeat is younger than LEASE_ALIVE_PID_STALE_INTERVALS intervals (older: the pid was
 *    recycled by an unrelated process, the lease is stale);
 *  - same host, the holder pid is OUR pid but the token is not one of this process's open stores
 *    (a previous incarnation whose pid was reused, typically pid 1 in a container), or another
 *    host: the heartbeat is younger than LEASE_STALE_INTERVALS intervals.
 * Otherwise the lease is stale and is taken over; acquire() reports the old holder. `takeOver`
 * (config `takeOverLease`) takes even a live holder's lease: the operator's explicit, logged call.
 * The writer re-reads the row in every commit transaction, so a holder whose lease was taken over
 * never commits again.
 */
import { randomUUID } from "node:crypto";
import { statSync } from "node:fs";
import { hostname } from "node:os";
import type Database from "better-sqlite3";
import { LEASE_TABLE_SQL } from "./migrations/index.js";
import { StoreOpenError, type LeaseHolder } from "./types.js";

export const DEFAULT_LEASE_HEARTBEAT_MS = 2000;
/** a lease whose heartbeat is older than this many intervals is considered abandoned */
export const LEASE_STALE_INTERVALS = 3;
/** …and when its holder pid is alive on this host (the pid may have been recycled): this many */
export const LEASE_ALIVE_PID_STALE_INTERVALS = 10;
/** how a refusal tells the operator to take the lease over */
export const TAKE_OVER_HINT = '--take-over-lease (env CAUSEWAY_TAKE_OVER_LEASE=true, config "takeOverLease": true)';

/** tokens of the leases held by stores open in THIS process */
const liveTokens = new Set<string>();
/** device:inode of the journals open in THIS process → the path they were opened by, and the lease token */
const liveFiles = new Map<string, { path: string; token: string }>();

interface LeaseRow {
  holder_pid: number;
  holder_host: string;
  holder_started_at: number;
  heartbeat_at: number;
  heartbeat_ms: number;
  token: string;
}

/** Whether an existing row binds us (live), or why not. */
type Verdict = { live: true } | { live: false; kind: "dead" | "stale"; why: string };

/** A lease taken from someone else. */
export interface LeaseTakeover {
  holder: LeaseHolder;
  /** `dead`: the holder pid is not running (this host); `stale`: no heartbeat for too long; `forced`: takeOver */
  kind: "dead" | "stale" | "forced";
  why: string;
}

/**
 * Refuse (`journal_linked`) a database file with more than one hard link, before anything opens
 * it: SQLite names the -wal / -shm files after the path, so every link would be a separate writer
 * (and merely reading through the other path would create its own -wal / -shm).
 */
export function assertSingleLink(path: string): void {
  const st = statSync(path, { bigint: true, throwIfNoEntry: false });
  if (!st || st.nlink <= 1n) return;
  throw new StoreOpenError(
    "journal_linked",
    `database ${path} has ${st.nlink} hard links (device ${st.dev}, inode ${st.ino}): SQLite gives each path its own -wal file, so every link would be a separate writer; ` +
      `remove the other links (find / -xdev -samefile ${path}) or use a copy (causeway backup)`,
    { path, links: Number(st.nlink), dev: String(st.dev), ino: String(st.ino) },
  );
}

export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

const isoTime = (ms: number): string => {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
};

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export interface LeaseOptions {
  db: Database.Database;
  /** the database path, for messages */
  path: string;
  heartbeatMs: number;
  now: () => number;
  /** take the lease even from a live holder (logged by the caller) */
  takeOver?: boolean;
}

export class Lease {
  readonly token: string = randomUUID();
  readonly pid: number = process.pid;
  readonly host: string = hostname();
  private readonly db: Database.Database;
  private readonly path: string;
  private readonly heartbeatMs: number;
  private readonly now: () => number;
  private readonly takeOver: boolean;
  private timer: NodeJS.Timeout | null = null;
  private held = false;
  private lostReason: string | null = null;
  private fileKey: string | null = null;
  private ownerSt: Database.Statement | null = null;

  constructor(opts: LeaseOptions) {
    this.db = opts.db;
    this.path = opts.path;
    this.heartbeatMs = opts.heartbeatMs;
    this.now = opts.now;
    this.takeOver = opts.takeOver ?? false;
  }

  /**
   * Take the lease or throw StoreOpenError `journal_locked` (hard links are refused earlier, by
   * assertSingleLink). Returns what was taken over from someone else, undefined when it was free.
   */
  acquire(): LeaseTakeover | undefined {
    const fileKey = this.claimFile();
    const db = this.db;
    const take = db.transaction((): LeaseTakeover | undefined => {
      db.exec(LEASE_TABLE_SQL);
      const row = db
        .prepare(
          "SELECT holder_pid, holder_host, holder_started_at, heartbeat_at, heartbeat_ms, token FROM lease WHERE id = 1",
        )
        .get() as LeaseRow | undefined;
      const now = this.now();
      let taken: LeaseTakeover | undefined;
      if (row && row.token !== this.token) {
        const holder: LeaseHolder = { pid: row.holder_pid, host: row.holder_host, startedAt: row.holder_started_at, heartbeatAt: row.heartbeat_at };
        const verdict = this.judge(row, now);
        if (!verdict.live) taken = { holder, kind: verdict.kind, why: verdict.why };
        else if (this.takeOver) taken = { holder, kind: "forced", why: `pid ${holder.pid} on ${holder.host} looked alive (last heartbeat ${seconds(now - holder.heartbeatAt)} ago); taken over by takeOverLease` };
        else throw this.refusal(holder, now);
      }
      db.prepare(
        `INSERT INTO lease(id, holder_pid, holder_host, holder_started_at, heartbeat_at, heartbeat_ms, token)
         VALUES (1, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET holder_pid = excluded.holder_pid, holder_host = excluded.holder_host,
           holder_started_at = excluded.holder_started_at, heartbeat_at = excluded.heartbeat_at,
           heartbeat_ms = excluded.heartbeat_ms, token = excluded.token`,
      ).run(this.pid, this.host, now, now, this.heartbeatMs, this.token);
      return taken;
    });
    const taken = take.immediate();
    this.held = true;
    liveTokens.add(this.token);
    liveFiles.set(fileKey, { path: this.path, token: this.token });
    this.fileKey = fileKey;
    this.ownerSt = db.prepare("SELECT token FROM lease WHERE id = 1").pluck();
    return taken;
  }

  /** The journal file's device:inode; refuses a file already open in this process by another path. */
  private claimFile(): string {
    const st = statSync(this.path, { bigint: true });
    const key = `${st.dev}:${st.ino}`;
    const other = liveFiles.get(key)?.path;
    // the same path is the lease row's business (it names the holder); another path to the same file is not
    if (other !== undefined && other !== this.path) {
      throw new StoreOpenError("journal_locked", `database ${this.path} is already open in this process as ${other} (same device ${st.dev} and inode ${st.ino})`, { path: this.path, openAs: other });
    }
    return key;
  }

  private refusal(holder: LeaseHolder, now: number): StoreOpenError {
    return new StoreOpenError(
      "journal_locked",
      `database ${this.path} is in use by pid ${holder.pid} on host ${holder.host} ` +
        `(since ${isoTime(holder.startedAt)}, last heartbeat ${seconds(now - holder.heartbeatAt)} ago at ${isoTime(holder.heartbeatAt)}); ` +
        `if no causeway is running on it, start with ${TAKE_OVER_HINT} to take the lease over`,
      { path: this.path, holder, heartbeatAgeMs: now - holder.heartbeatAt },
    );
  }

  private judge(row: LeaseRow, now: number): Verdict {
    const interval = Math.max(this.heartbeatMs, Number(row.heartbeat_ms) || 0);
    const age = now - row.heartbeat_at;
    const byHeartbeat = (intervals: number, who: string): Verdict =>
      age < intervals * interval ? { live: true } : { live: false, kind: "stale", why: `${who}: no heartbeat for ${seconds(age)} (over ${intervals} × ${interval} ms)` };
    if (row.holder_host !== this.host) return byHeartbeat(LEASE_STALE_INTERVALS, `pid ${row.holder_pid} on another host`);
    if (row.holder_pid === process.pid) {
      // a store of this very process, or a previous incarnation that had our pid
      return liveTokens.has(row.token) ? { live: true } : byHeartbeat(LEASE_STALE_INTERVALS, `our own pid ${row.holder_pid}, an earlier incarnation`);
    }
    if (!isPidAlive(row.holder_pid)) return { live: false, kind: "dead", why: `pid ${row.holder_pid} is not running` };
    return byHeartbeat(LEASE_ALIVE_PID_STALE_INTERVALS, `pid ${row.holder_pid} is alive (recycled by another process?)`);
  }

  /**
   * Inside a commit transaction: is the lease row still ours? A holder whose lease was taken over
   * (stale-looking heartbeat after a long pause, or a forced takeover) must not commit again.
   */
  verify(): boolean {
    if (this.lostReason) return false;
    if (this.ownerSt?.get() === this.token) return true;
    this.lostReason = "the single-writer lease was taken over by another process";
    this.stopHeartbeat();
    return false;
  }

  /** Refresh heartbeat_at every heartbeatMs (unref'd timer); `after` runs after every beat. */
  startHeartbeat(after?: () => void): void {
    if (this.timer || !this.held) return;
    this.timer = setInterval(() => {
      this.beat();
      after?.();
    }, this.heartbeatMs);
    this.timer.unref();
  }

  /** One heartbeat. Detects a lost lease (row taken over or deleted behind our back). */
  beat(): void {
    if (!this.held || !this.db.open) return;
    try {
      const info = this.db
        .prepare("UPDATE lease SET heartbeat_at = ? WHERE id = 1 AND token = ?")
        .run(this.now(), this.token);
      if (info.changes === 0) {
        this.lostReason = "the single-writer lease row no longer holds this process's token (taken over?)";
        this.stopHeartbeat();
      }
    } catch {
      // busy or I/O hiccup: try again at the next beat; staleness needs 3 missed beats
    }
  }

  /** Why the lease is no longer ours, or null while we hold it. */
  get lost(): string | null {
    return this.lostReason;
  }

  private stopHeartbeat(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Stop the heartbeat and delete our lease row (if it is still ours). */
  release(): void {
    this.stopHeartbeat();
    liveTokens.delete(this.token);
    if (this.fileKey !== null && liveFiles.get(this.fileKey)?.token === this.token) liveFiles.delete(this.fileKey);
    this.fileKey = null;
    if (!this.held) return;
    this.held = false;
    if (!this.db.open) return;
    try {
      this.db.prepare("DELETE FROM lease WHERE id = 1 AND token = ?").run(this.token);
    } catch {
      // best effort: a leftover row is taken over at the next open (our pid will be dead)
    }
  }
}
