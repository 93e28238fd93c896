/**
 * #18 durability is stated, not assumed: the Redis store reads redis-server's appendonly /
 * appendfsync at startup; strict refuses anything but `yes` + `always` (StoreOpenError
 * redis_not_durable), relaxed starts with a warning naming what a crash can lose. Real servers.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkRedisDurability } from "../../../src/journal/redis/durability-check.js";
import { StoreOpenError } from "../../../src/journal/types.js";
import { startRedis, type TestRedis } from "../../helpers/redis-server.js";

async function refusal(p: Promise<unknown>): Promise<StoreOpenError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StoreOpenError);
  return err as StoreOpenError;
}

describe("#18 redis durability check", () => {
  const servers: TestRedis[] = [];
  let durable: TestRedis;
  let everysec: TestRedis;
  let noAof: TestRedis;
  let noConfig: TestRedis;
  beforeAll(async () => {
    const started = await Promise.allSettled([
      startRedis(),
      startRedis({ config: { appendfsync: "everysec" } }),
      startRedis({ config: { appendonly: "no" } }),
      startRedis({ config: { "rename-command": ["CONFIG", ""] } }),
    ]);
    // every server that did start is stopped again, even when another one failed
    for (const s of started) if (s.status === "fulfilled") servers.push(s.value);
    const failed = started.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
    [durable, everysec, noAof, noConfig] = servers as [TestRedis, TestRedis, TestRedis, TestRedis];
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  it("accepts appendonly yes + appendfsync always in both modes, with no warning", async () => {
    for (const mode of ["strict", "relaxed"] as const) {
      const v = await checkRedisDurability(durable.url(), mode);
      expect(v).toEqual({ mode, persistence: { appendonly: "yes", appendfsync: "always" }, durable: true, warning: null });
    }
  });

  it("strict refuses appendfsync everysec, naming the setting and both ways out", async () => {
    const err = await refusal(checkRedisDurability(everysec.url(3), "strict"));
    expect(err.code).toBe("redis_not_durable");
    expect(err.message).toContain(`redis://127.0.0.1:${everysec.port}/3: redis-server runs with appendfsync everysec`);
    expect(err.message).toContain("appendfsync always");
    expect(err.message).toContain("--redis-durability relaxed");
    expect(err.details).toMatchObject({ appendonly: "yes", appendfsync: "everysec" });
  });

  it("relaxed starts on appendfsync everysec and says what a crash can lose", async () => {
    const v = await checkRedisDurability(everysec.url(), "relaxed");
    expect(v.durable).toBe(false);
    expect(v.warning).toBe("redis durability relaxed: redis-server runs with appendfsync everysec: a crash of the Redis host can lose about the last second of acknowledged batches");
  });

  it("appendonly no: strict refuses, relaxed warns about losing everything since the last snapshot", async () => {
    expect((await refusal(checkRedisDurability(noAof.url(), "strict"))).message).toContain("appendonly no");
    expect((await checkRedisDurability(noAof.url(), "relaxed")).warning).toMatch(/appendonly no: a crash loses every batch since its last RDB snapshot/);
  });

  it("a server that refuses CONFIG cannot be verified: strict refuses, relaxed warns", async () => {
    const err = await refusal(checkRedisDurability(noConfig.url(), "strict"));
    expect(err.code).toBe("redis_not_durable");
    expect(err.message).toMatch(/refused CONFIG GET/);
    const v = await checkRedisDurability(noConfig.url(), "relaxed");
    expect(v).toMatchObject({ persistence: null, durable: false });
    expect(v.warning).toMatch(/settings are unknown/);
  });

  it("no server at the URL: redis_unreachable, the password never shown", async () => {
    const port = durable.port;
    const probe = await startRedis();
    const deadPort = probe.port;
    await probe.stop();
    expect(deadPort).not.toBe(port);
    const err = await refusal(checkRedisDurability(`redis://app:s3cret@127.0.0.1:${deadPort}/0`, "strict"));
    expect(err.code).toBe("redis_unreachable");
    expect(err.message).toContain(`redis://127.0.0.1:${deadPort}/0: cannot connect`);
    expect(err.message).not.toContain("s3cret");
    expect(err.message).not.toContain("app");
  });
});
