/**
 * Which journal store the server runs on (config `store`): the SQLite journal at `db` (the
 * embedded default), or the Redis store (issue #18) at a `redis://` URL, whose durability is
 * checked first (journal/redis/durability-check.ts) and whose local read model, a SQLite
 * projection, lives beside `db` (in memory when `db` is ":memory:").
 */
import { dirname, join } from "node:path";
import type { Logger } from "pino";
import type { CausewayConfig } from "../config/defaults.js";
import { checkRedisDurability } from "../journal/redis/durability-check.js";
import { redactUrl } from "../journal/redis/keyspace.js";
import { RedisStore } from "../journal/redis/redis-store.js";
import { SqliteStore } from "../journal/sqlite-store.js";
import type { Store } from "../journal/types.js";

export interface OpenedStore {
  store: Store;
  /** what an operator must hear for as long as the server runs (health_check and /readyz `warnings`) */
  warnings: string[];
}

/** The projection file of a Redis journal: beside the configured `db`. */
export function redisProjectionPath(config: Pick<CausewayConfig, "db"> & { node?: string | null }): string {
  if (config.db === ":memory:") return ":memory:";
  return join(dirname(config.db), (config.node ?? null) === null ? "redis-projection.db" : `redis-projection-${config.node}.db`);
}

/** The configured store, not yet opened (the engine opens it). Throws StoreOpenError when Redis is not durable in strict mode. */
export async function createStore(config: CausewayConfig, log: Logger): Promise<OpenedStore> {
  if (config.store === null) {
    if (config.node !== null) throw new Error(`node ${config.node}: several nodes share a Redis journal only; set store to a redis:// URL (or leave node unset)`);
    const store = new SqliteStore({
      path: config.db,
      durability: config.durability,
      faultFailCommit: config.faultFailCommit,
      faultFailCount: config.faultFailCount,
      faultKind: config.faultKind,
      takeOverLease: config.takeOverLease,
      admissionFilterBits: config.admissionFilterBits,
      checkpointIntervalMs: config.checkpointIntervalMs,
      projectionFlushMs: config.projectionFlushMs,
      projectionMaxRecords: config.projectionMaxRecords,
      log,
    });
    return { store, warnings: [] };
  }
  const verdict = await checkRedisDurability(config.store, config.redisDurability);
  const warnings = verdict.warning === null ? [] : [verdict.warning];
  const where = redactUrl(config.store);
  if (verdict.warning !== null) log.warn({ store: where, persistence: verdict.persistence }, verdict.warning);
  const projectionPath = redisProjectionPath(config);
  log.info({ store: where, redisDurability: config.redisDurability, projection: projectionPath }, "journal store: redis");
  const shared = config.node === null ? {} : { node: config.node, ...(config.nodeUrl !== null ? { nodeUrl: config.nodeUrl } : {}) };
  return { store: new RedisStore({ url: config.store, projectionPath, takeOverLease: config.takeOverLease, leaseTtlMs: config.redisLeaseTtlMs, log, ...shared }), warnings };
}
