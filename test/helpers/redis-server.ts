/**
 * A real `redis-server` for tests (issue #18): scripts/redis-server.mjs, shared with the bench.
 * Debian's binary (.ci/run installs it when missing), a free loopback port, a temp dir,
 * `appendonly yes` + `appendfsync always`. No mock.
 */
export { REDIS_SERVER_BIN, redisServerAvailable, startRedis, type StartRedisOptions, type TestRedis } from "../../scripts/redis-server.mjs";

import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { startRedis as start, type StartRedisOptions as Options, type TestRedis as Running } from "../../scripts/redis-server.mjs";

/** A redis-server for the enclosing describe block: started before its tests, stopped after (the handle forwards to it). */
export function useRedis(opts?: Options): Running {
  let redis: Running | undefined;
  beforeAll(async () => {
    redis = await start(opts);
  });
  afterAll(async () => {
    await redis?.stop();
  });
  return new Proxy({} as Running, {
    get(_target, prop) {
      if (!redis) throw new Error("the test redis-server is not running (used outside the describe block's tests?)");
      const value = (redis as unknown as Record<string | symbol, unknown>)[prop];
      return typeof value === "function" ? value.bind(redis) : value;
    },
  });
}

/** useRedis(), and an ioredis client connected to its db 0 for the same block. */
export function useRedisClient(opts?: Options): { redis: Running; client: Redis } {
  const redis = useRedis(opts);
  let client: Redis | undefined;
  beforeAll(() => {
    client = new Redis(redis.url(), { maxRetriesPerRequest: null });
    client.on("error", () => {});
  });
  afterAll(() => client?.disconnect());
  const forward = new Proxy({} as Redis, {
    get(_target, prop) {
      if (!client) throw new Error("the test Redis client is not connected (used outside the block's tests?)");
      const value = (client as unknown as Record<string | symbol, unknown>)[prop];
      return typeof value === "function" ? value.bind(client) : value;
    },
  });
  return { redis, client: forward };
}
