/**
 * #18 `causeway import --store redis://…` as a user runs it (dist/cli/main.js): a trace into an
 * EMPTY Redis journal; `causeway audit --store` passes on it and `causeway export --store` gives
 * back the trace's records; a non-empty or locked journal is refused and left as it was; a batch
 * Redis refuses part-way leaves the journal empty again. After a compaction of the imported
 * journal (retention on Redis) the audit still passes and the export holds the retained records.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { keyspace } from "../../src/journal/redis/keyspace.js";
import { importTraceToRedis } from "../../src/journal/redis/redis-import.js";
import { RedisStore } from "../../src/journal/redis/redis-store.js";
import { DEFAULT_RETENTION } from "../../src/journal/retention.js";
import { useRedisClient } from "../helpers/redis-server.js";
import { ROOT, TEST_COMMANDS, runCli } from "../helpers/spawn.js";

const P = keyspace("causeway").prefix;
const fixture = (name: string): string => join(ROOT, "fixtures/traces", name);
const lines = (text: string): string[] => text.trim().split("\n");

describe("#18 causeway import --store redis://…", () => {
  const r = useRedisClient();

  it("#18.23 imports into an empty Redis journal: audit --store passes, export --store gives the same records; a second import is refused, nothing changed", async () => {
    for (const name of ["basic.jsonl", "governed.jsonl"]) {
      const db = name === "basic.jsonl" ? 1 : 2;
      const src = lines(readFileSync(fixture(name), "utf8"));
      const imp = await runCli(["import", fixture(name), "--store", r.redis.url(db)]);
      expect(imp.stderr).toBe("");
      expect(imp.code).toBe(0);
      expect(imp.stdout).toMatch(new RegExp(`^imported ${src.length - 1} records \\(.*\\) from .*${name} into the Redis journal redis://`));
      const audit = await runCli(["audit", "--store", r.redis.url(db), "--commands", TEST_COMMANDS, "--json"]);
      expect(audit.code, audit.stdout).toBe(0);
      expect(JSON.parse(audit.stdout)).toMatchObject({ ok: true, invariants: { redis_materialized_keys: { checks: 1, violations: 0 } } });
      const exp = await runCli(["export", "--store", r.redis.url(db)]);
      expect(exp.code, exp.stderr).toBe(0);
      const out = lines(exp.stdout);
      expect(JSON.parse(out[0]!)).toMatchObject({ format: "causeway-trace", version: 1, lastSeq: src.length - 1 });
      expect(out.slice(1)).toEqual(src.slice(1));
    }
    await r.client.select(1);
    const before = await r.client.xlen(`${P}journal`);
    const again = await runCli(["import", fixture("basic.jsonl"), "--store", r.redis.url(1)]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^causeway: Redis journal redis:\/\/.* cw:\{causeway\}: is not empty \(\d+ journal rows, \d+ commands, \d+ sessions\); import only into a new, empty database\n$/);
    expect(await r.client.xlen(`${P}journal`)).toBe(before);
  });

  it("#18.24 a journal a node holds is refused (journal_locked); a batch Redis refuses (the first, or one part-way) leaves the journal empty again", async () => {
    const holder = new RedisStore({ url: r.redis.url(3) });
    holder.open();
    try {
      const locked = await runCli(["import", fixture("basic.jsonl"), "--store", r.redis.url(3)]);
      expect(locked.code).toBe(1);
      expect(locked.stderr).toMatch(/journal_locked|is locked|holds the lease|lease/i);
    } finally {
      holder.close();
    }
    await r.client.select(3);
    expect(await r.client.exists(`${P}journal`)).toBe(0);
    // a stray key the stream does not know: the commit script refuses the command id it names
    const first = JSON.parse(lines(readFileSync(fixture("basic.jsonl"), "utf8"))[5]!) as { commandId: string };
    await r.client.hset(`${P}cmd:${first.commandId}`, "status", "succeeded", "revision", "2");
    const refused = await runCli(["import", fixture("basic.jsonl"), "--store", r.redis.url(3)]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refused or failed at seq \d+: journal commit rolled back: .*duplicate command id .*; the records written before were removed, it is empty again/);
    const dataKeys = async (): Promise<string[]> => (await r.client.keys(`${P}*`)).filter((k) => !/:(meta|fence|lease:.*)$/.test(k));
    expect(await dataKeys()).toEqual([]);
    // part-way: batches of 4 records, the stray key names a command near the end of the trace
    const trace = lines(readFileSync(fixture("basic.jsonl"), "utf8"));
    const late = JSON.parse(trace[trace.length - 3]!) as { commandId: string; seq: number };
    await r.client.hset(`${P}cmd:${late.commandId}`, "status", "succeeded", "revision", "2");
    const store = new RedisStore({ url: r.redis.url(3) });
    store.open();
    try {
      const target = { store, url: r.redis.url(3), ks: keyspace("causeway"), where: "db 3" };
      await expect(importTraceToRedis(trace, target, { batchSize: 4 })).rejects.toThrow(/refused or failed at seq (\d+)/);
      expect(store.stats().commits).toBeGreaterThan(2);
    } finally {
      store.close();
    }
    expect(await dataKeys()).toEqual([]);
  });

  it("#18.25 after a compaction of the imported journal, audit --store passes and export --store holds the retained records", async () => {
    const src = lines(readFileSync(fixture("basic.jsonl"), "utf8"));
    expect((await runCli(["import", fixture("basic.jsonl"), "--store", r.redis.url(4)])).code).toBe(0);
    const store = new RedisStore({ url: r.redis.url(4) });
    store.open();
    let first: number;
    try {
      const report = await store.compact({ ...DEFAULT_RETENTION, maxCommands: 3, batchRows: 10 }, () => Date.now() + 365 * 86_400_000);
      expect(report?.removedRows).toBeGreaterThan(0);
      first = store.firstRetainedSeq();
    } finally {
      store.close();
    }
    const audit = await runCli(["audit", "--store", r.redis.url(4), "--commands", TEST_COMMANDS, "--json"]);
    expect(audit.code, audit.stdout).toBe(0);
    expect(JSON.parse(audit.stdout)).toMatchObject({ ok: true, window: { firstRetainedSeq: first }, invariants: { redis_materialized_keys: { checks: 1, violations: 0 } } });
    const exp = await runCli(["export", "--store", r.redis.url(4)]);
    expect(exp.code, exp.stderr).toBe(0);
    expect(lines(exp.stdout).slice(1)).toEqual(src.slice(first));
  });
});
