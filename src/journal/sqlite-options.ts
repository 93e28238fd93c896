/** The options of a SqliteStore (sqlite-store.ts). */
import type Database from "better-sqlite3";
import type { Durability } from "../config/defaults.js";
import type { FaultKind } from "./fault.js";
import type { StoreLog } from "./types.js";

export interface SqliteStoreOptions {
  /** database file path, or ":memory:" for the in-memory store */
  path: string;
  durability: Durability;
  /** test-only: make the Nth commit() call since open (1-based) fail; 0/undefined disables */
  faultFailCommit?: number;
  /** test-only: how many consecutive commits fail once the fault triggers (default 1) */
  faultFailCount?: number;
  /** test-only: the SQLite error the failing commits raise (default ioerr) */
  faultKind?: FaultKind;
  /** single-writer lease heartbeat interval (default 2000 ms) */
  leaseHeartbeatMs?: number;
  /** clock for lease timestamps (default Date.now) */
  now?: () => number;
  /** SQLite busy_timeout in ms (default 250) */
  busyTimeoutMs?: number;
  /** where a store that fails closed (files deleted, lease lost) or takes a lease over says so (default: nowhere) */
  log?: StoreLog;
  /** take the single-writer lease even from a holder that looks alive (config takeOverLease; logged) */
  takeOverLease?: boolean;
  /** test-only: false writes the derived rows record by record (the reference batch folding is compared with) */
  foldBatches?: boolean;
  /** size of the in-memory filter of journaled ids and idempotency keys (known-ids.ts), bits; 0 disables (default 2^24: 2 MiB) */
  admissionFilterBits?: number;
  /** WAL checkpoints by a worker thread every this many ms instead of inside commits (checkpointer.ts); 0 (default) leaves them to the writer */
  checkpointIntervalMs?: number;
  /** rows loaded into the database after its migrations, before its state is read (the Redis projection's checkpoint base) */
  seed?: (db: Database.Database) => void;
  /** the derived tables written every this many ms, not with every batch (projection.ts); 0 (default): with every batch */
  projectionFlushMs?: number;
  /** ... or once this many records are deferred (default 50,000) */
  projectionMaxRecords?: number;
}
