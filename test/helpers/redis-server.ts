/**
 * A real `redis-server` for tests (issue #18): scripts/redis-server.mjs, shared with the bench.
 * Debian's binary (.ci/run installs it when missing), a free loopback port, a temp dir,
 * `appendonly yes` + `appendfsync always`. No mock.
 */
export { REDIS_SERVER_BIN, redisServerAvailable, startRedis, type StartRedisOptions, type TestRedis } from "../../scripts/redis-server.mjs";
