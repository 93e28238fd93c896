/**
 * Durability is stated, not assumed (issue #18). The Redis store acknowledges a batch when its
 * commit script returned; that batch survives a crash of redis-server only if the server appends
 * every write to its AOF and fsyncs it before answering: `appendonly yes` + `appendfsync always`.
 *
 * At startup the store reads both settings (`CONFIG GET`). In `strict` mode (the default) anything
 * else, or settings it cannot read (CONFIG renamed away on a managed Redis), refuses to start
 * (`StoreOpenError` `redis_not_durable`, naming what it found and the two ways out). In `relaxed`
 * mode it starts and says what can be lost, in the log, `health_check` (`warnings`, `journal`) and
 * `/readyz` (`warnings`).
 */
import { Redis } from "ioredis";
import type { RedisDurability } from "../../config/defaults.js";
import { StoreOpenError } from "../types.js";
import { redactUrl } from "./keyspace.js";

/** What redis-server reported; null when CONFIG GET was refused. */
export interface RedisPersistence {
  appendonly: string;
  appendfsync: string;
}

export interface DurabilityVerdict {
  mode: RedisDurability;
  /** what the server runs with (null: unknown) */
  persistence: RedisPersistence | null;
  /** true when every acknowledged batch survives a redis-server crash */
  durable: boolean;
  /** relaxed and not durable: what an operator must hear (null when durable) */
  warning: string | null;
}

/** What a crash of redis-server can lose under these settings. */
function exposure(p: RedisPersistence | null): string {
  if (p === null) return "redis-server refused CONFIG GET, so its appendonly / appendfsync settings are unknown";
  if (p.appendonly !== "yes") return `redis-server runs with appendonly ${p.appendonly}: a crash loses every batch since its last RDB snapshot`;
  if (p.appendfsync === "everysec") return "redis-server runs with appendfsync everysec: a crash of the Redis host can lose about the last second of acknowledged batches";
  return `redis-server runs with appendfsync ${p.appendfsync}: a crash of the Redis host can lose acknowledged batches the OS had not yet written`;
}

/** The one rule: durable = appendonly yes + appendfsync always. Strict refuses anything else. */
export function judgeRedisDurability(persistence: RedisPersistence | null, mode: RedisDurability, where: string): DurabilityVerdict {
  const durable = persistence !== null && persistence.appendonly === "yes" && persistence.appendfsync === "always";
  if (durable) return { mode, persistence, durable, warning: null };
  const why = exposure(persistence);
  if (mode === "strict") {
    throw new StoreOpenError(
      "redis_not_durable",
      `${where}: ${why}; refusing to start. Run redis-server with appendonly yes and appendfsync always (CONFIG SET appendonly yes; CONFIG SET appendfsync always; CONFIG REWRITE), or accept the loss with --redis-durability relaxed`,
      { url: where, ...(persistence ?? {}) },
    );
  }
  return { mode, persistence, durable, warning: `redis durability relaxed: ${why}` };
}

/** Read appendonly / appendfsync (null when the server refuses CONFIG). */
export async function readRedisPersistence(client: Redis): Promise<RedisPersistence | null> {
  try {
    const [, appendonly] = (await client.config("GET", "appendonly")) as string[];
    const [, appendfsync] = (await client.config("GET", "appendfsync")) as string[];
    if (appendonly === undefined || appendfsync === undefined) return null;
    return { appendonly, appendfsync };
  } catch (err) {
    if (/unknown command|NOPERM|no permissions/i.test((err as Error).message)) return null;
    throw err;
  }
}

/** Connect, read the settings, judge them (throws StoreOpenError in strict mode), disconnect. */
export async function checkRedisDurability(url: string, mode: RedisDurability, opts: { connectTimeoutMs?: number } = {}): Promise<DurabilityVerdict> {
  const where = redactUrl(url);
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: opts.connectTimeoutMs ?? 5000, retryStrategy: () => null });
  client.on("error", () => {}); // reported by the rejected connect / command below
  try {
    await client.connect();
  } catch (err) {
    throw new StoreOpenError("redis_unreachable", `${where}: cannot connect to redis-server (${(err as Error).message})`, { url: where });
  }
  try {
    return judgeRedisDurability(await readRedisPersistence(client), mode, where);
  } finally {
    client.disconnect();
  }
}
