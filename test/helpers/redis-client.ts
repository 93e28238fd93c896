/**
 * One real redis-server for a test file (redis-server.ts) and an ioredis client on its db 0, both
 * started before the file's tests and stopped after them.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { startRedis, type TestRedis } from "./redis-server.js";

export interface RedisForTests {
  readonly redis: TestRedis;
  readonly client: Redis;
}

export function useRedisServer(): RedisForTests {
  const ctx: { redis?: TestRedis; client?: Redis } = {};
  beforeAll(async () => {
    ctx.redis = await startRedis();
    ctx.client = new Redis(ctx.redis.url(0));
  });
  afterAll(async () => {
    ctx.client?.disconnect();
    await ctx.redis?.stop();
  });
  return {
    get redis() {
      return ctx.redis!;
    },
    get client() {
      return ctx.client!;
    },
  };
}
