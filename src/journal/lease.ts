/**
 * Single-writer lease. Exactly one causeway process may write a journal file: the materialized
 * tables and the in-memory seq/lane counters of the writer are only correct if nobody else appends.
 *
 * The lease is one row (id = 1) in the `lease` table, taken inside a BEGIN IMMEDIATE transaction
 * (so two openers serialize on SQLite's write lock) and refreshed by a heartbeat. An existing row
 * held by someone else is honoured when:
 *  - same host, and the holder pid is alive (`process.kill(pid, 0)`; EPERM counts as alive).
 *    Special case: the holder pid is OUR pid but the token is not one of this process's open
 *    stores — a previous incarnation whose pid was reused (typical: pid 1 in a restarted
 *    container). Then the heartbeat decides, as for another host;
 *  - another host, and the last heartbeat is younger than 3 heartbeat intervals.
 * Otherwise the lease is stale (crashed holder) and is taken over; acquire() reports the old holder.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type Database from "better-sqlite3";
import { LEASE_TABLE_SQL } from "./migrations.js";
import { StoreOpenError, type LeaseHolder } from "./types.js";

export const DEFAULT_LEASE_HEARTBEAT_MS = 2000;
/** a lease whose heartbeat is older than this many intervals is considered abandoned */
export const LEASE_STALE_INTERVALS = 3;

/** tokens of the leases held by stores open in THIS process */
const liveTokens = new Set<string>();

interface LeaseRow {
  holder_pid: number;
  holder_host: string;
  holder_started_at: number;
  heartbeat_at: number;
  heartbeat_ms: number;
  token: string;
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

export interface LeaseOptions {
  db: Database.Database;
  /** the database path, for messages */
  path: string;
  heartbeatMs: number;
  now: () => number;
}

export class Lease {
  readonly token: string = randomUUID();
  readonly pid: number = process.pid;
  readonly host: string = hostname();
  private readonly db: Database.Database;
  private readonly path: string;
  private readonly heartbeatMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private held = false;
  private lostReason: string | null = null;

  constructor(opts: LeaseOptions) {
    this.db = opts.db;
    this.path = opts.path;
    this.heartbeatMs = opts.heartbeatMs;
    this.now = opts.now;
  }

  /**
   * Take the lease or throw StoreOpenError("journal_locked"). Returns the previous holder when a
   * stale lease was taken over, undefined when the lease was free.
   */
  acquire(): LeaseHolder | undefined {
    const db = this.db;
    const take = db.transaction((): LeaseHolder | undefined => {
      db.exec(LEASE_TABLE_SQL);
      const row = db
        .prepare(
          "SELECT holder_pid, holder_host, holder_started_at, heartbeat_at, heartbeat_ms, token FROM lease WHERE id = 1",
        )
        .get() as LeaseRow | undefined;
      const now = this.now();
      let stale: LeaseHolder | undefined;
      if (row && row.token !== this.token) {
        const holder: LeaseHolder = {
          pid: row.holder_pid,
          host: row.holder_host,
          startedAt: row.holder_started_at,
          heartbeatAt: row.heartbeat_at,
        };
        if (this.holderIsLive(row, now)) {
          throw new StoreOpenError(
            "journal_locked",
            `database ${this.path} is in use by pid ${holder.pid} on host ${holder.host} ` +
              `(since ${isoTime(holder.startedAt)}, last heartbeat ${isoTime(holder.heartbeatAt)})`,
            { path: this.path, holder },
          );
        }
        stale = holder;
      }
      db.prepare(
        `INSERT INTO lease(id, holder_pid, holder_host, holder_started_at, heartbeat_at, heartbeat_ms, token)
         VALUES (1, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET holder_pid = excluded.holder_pid, holder_host = excluded.holder_host,
           holder_started_at = excluded.holder_started_at, heartbeat_at = excluded.heartbeat_at,
           heartbeat_ms = excluded.heartbeat_ms, token = excluded.token`,
      ).run(this.pid, this.host, now, now, this.heartbeatMs, this.token);
      return stale;
    });
    const stale = take.immediate();
    this.held = true;
    liveTokens.add(this.token);
    return stale;
  }

  private holderIsLive(row: LeaseRow, now: number): boolean {
    const heartbeatFresh = (): boolean => {
      const interval = Math.max(this.heartbeatMs, Number(row.heartbeat_ms) || 0);
      return now - row.heartbeat_at < LEASE_STALE_INTERVALS * interval;
    };
    if (row.holder_host !== this.host) return heartbeatFresh();
    if (row.holder_pid === process.pid) {
      // a store of this very process, or a previous incarnation that had our pid
      return liveTokens.has(row.token) || heartbeatFresh();
    }
    return isPidAlive(row.holder_pid);
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
