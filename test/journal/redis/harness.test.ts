/**
 * #18 the test redis-server (test/helpers/redis-server.ts) is what the Redis store's tests rely on:
 * a real server on a free loopback port, durable (AOF fsynced on every write), and a kill -9 +
 * restart keeps every acknowledged write.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useRedis } from "../../helpers/redis-server.js";

describe("#18 test redis-server", () => {
  const redis = useRedis();

  it("runs with appendonly yes and appendfsync always on loopback", async () => {
    const client = new Redis(redis.url(), { lazyConnect: true });
    await client.connect();
    try {
      expect(await client.config("GET", "appendonly")).toEqual(["appendonly", "yes"]);
      expect(await client.config("GET", "appendfsync")).toEqual(["appendfsync", "always"]);
      expect(await client.config("GET", "bind")).toEqual(["bind", "127.0.0.1"]);
    } finally {
      client.disconnect();
    }
  });

  it("keeps every acknowledged write across a kill -9 and restart", async () => {
    const client = new Redis(redis.url(), { lazyConnect: true, maxRetriesPerRequest: 0 });
    await client.connect();
    for (let i = 0; i < 200; i++) await client.rpush("acked", String(i));
    const pidBefore = redis.pid();
    client.disconnect();
    await redis.restart();
    expect(redis.pid()).not.toBe(pidBefore);
    const again = new Redis(redis.url(), { lazyConnect: true });
    await again.connect();
    try {
      const list = await again.lrange("acked", 0, -1);
      expect(list).toEqual(Array.from({ length: 200 }, (_, i) => String(i)));
    } finally {
      again.disconnect();
    }
  });
});
