/**
 * Store factory used by the server: picks the journal from the config. Every store is a
 * SqliteStore; `db: ":memory:"` gives the in-memory store (kind "memory").
 *
 * openStore() only constructs the store. The caller then calls `store.open()` (migrate, take the
 * single-writer lease, recover) and `store.close()` on shutdown.
 */
import { resolve } from "node:path";
import type { Durability } from "../config/defaults.js";
import type { JournalStatus } from "../protocol/snapshots.js";
import { SqliteStore } from "./sqlite-store.js";
import type { Store } from "./types.js";

export type { JournalStatus };

export function journalStatus(store: Store): JournalStatus {
  const { path, schemaVersion } = store.stats();
  return { enabled: true, initialized: true, initState: "ready", journalPath: path === null ? ":memory:" : resolve(path), schemaVersion };
}

export interface OpenStoreOptions {
  /** database file path (default config: data/causeway.db), or ":memory:" */
  db: string;
  durability: Durability;
  /** test-only fault injection: the Nth commit() since open fails (0 disables) */
  faultFailCommit?: number;
  /** test-only fault injection: how many consecutive commits fail */
  faultFailCount?: number;
  /** test-only fault injection: the SQLite error raised (SQLITE_IOERR or SQLITE_FULL) */
  faultKind?: "ioerr" | "full";
  leaseHeartbeatMs?: number;
  /** take the single-writer lease even from a holder that looks alive (config takeOverLease) */
  takeOverLease?: boolean;
  now?: () => number;
}

/** Accepts the CausewayConfig itself (it has db, durability, faultFailCommit, faultFailCount). */
export function openStore(opts: OpenStoreOptions): Store {
  return new SqliteStore({
    path: opts.db,
    durability: opts.durability,
    faultFailCommit: opts.faultFailCommit ?? 0,
    faultFailCount: opts.faultFailCount ?? 1,
    faultKind: opts.faultKind ?? "ioerr",
    ...(opts.leaseHeartbeatMs !== undefined ? { leaseHeartbeatMs: opts.leaseHeartbeatMs } : {}),
    ...(opts.takeOverLease !== undefined ? { takeOverLease: opts.takeOverLease } : {}),
    ...(opts.now !== undefined ? { now: opts.now } : {}),
  });
}
