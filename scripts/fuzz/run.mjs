#!/usr/bin/env node
// Level 5 differential fuzzing campaign (issue #6): the seeded multi-client workloads of
// test/assurance/differential.test.ts against the built server, compared with the reference model.
//
//   npm run fuzz                        # 1000 seeds from 1
//   npm run fuzz -- --seeds 10000       # a long campaign
//   npm run fuzz -- --seeds 500 --base 20000
//   npm run fuzz -- --seed 123          # replay one seed (the command a failing seed prints)
//   npm run fuzz -- --store redis://127.0.0.1:6379/5   # on the Redis store (#18); that db is FLUSHed
//   npm run fuzz -- --store redis       # on a redis-server of its own (Debian's redis-server)
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError } from "commander";

const count = (v) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError("needs a non-negative integer");
  return v;
};
const opts = new Command("npm run fuzz --")
  .description("differential fuzzing of the real server against the reference model (test/model)")
  .option("--seeds <n>", "how many seeds to run", count, "1000")
  .option("--base <n>", "the first seed of the range", count)
  .option("--seed <n>", "replay this one seed", count)
  .option("--max-failed <n>", "stop after this many drifting seeds (0: run them all)", count, "5")
  .option("--store <store>", "sqlite, redis (a redis-server of its own) or redis://host:port/db (flushed first)", (v) => {
    if (v !== "sqlite" && v !== "redis" && !/^rediss?:\/\//.test(v)) throw new InvalidArgumentError("sqlite, redis or a redis:// URL");
    return v;
  }, "sqlite")
  .parse()
  .opts();

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const env = { ...process.env, FUZZ_PROGRESS: "1", FUZZ_SEEDS: opts.seeds, FUZZ_MAX_FAILED: opts.maxFailed, FUZZ_STORE: opts.store };
if (opts.base !== undefined) env.FUZZ_SEED_BASE = opts.base;
if (opts.seed !== undefined) env.FUZZ_SEED = opts.seed;
const vitest = join(root, "node_modules/vitest/vitest.mjs");
const child = spawn(process.execPath, [vitest, "run", "test/assurance/differential.test.ts"], { cwd: root, env, stdio: "inherit" });
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
