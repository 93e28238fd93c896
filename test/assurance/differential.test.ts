/**
 * Issue #6 (Level 5) differential fuzzing: seeded multi-client bursts against the real server over
 * WebSocket, every response, every journal row and the final session states compared with the
 * reference model (test/model/model.ts), plus the invariant checkers. Zero drift is the bar.
 *
 * FUZZ_SEEDS (default 200) seeds from FUZZ_SEED_BASE (default 1); FUZZ_SEED=N runs one seed; the
 * run stops after FUZZ_MAX_FAILED (default 5; 0 never) drifting seeds.
 * `npm run fuzz -- --seeds 10000` runs a long campaign, `npm run fuzz -- --seed N` replays one.
 *
 * Stores (#18): the same campaign runs on the SQLite journal and on the Redis store (a redis-server
 * of its own; FUZZ_REDIS_SEEDS seeds, default 20), where the rows the model checks are read from the
 * node's projection and, once per server, the Redis journal stream must equal them record for record.
 * FUZZ_STORE=sqlite | redis | redis://host:port/db runs one store only (with FUZZ_SEEDS seeds; the
 * given db is flushed): `npm run fuzz -- --store redis://127.0.0.1:6379/5`.
 */
import { describe, expect, it } from "vitest";
import { Campaign, replayHint, type SeedReport } from "../model/campaign.js";
import { fmtViolations, type Violation } from "../model/types.js";

const single = process.env.FUZZ_SEED;
const count = Number(process.env.FUZZ_SEEDS ?? 200);
const base = Number(process.env.FUZZ_SEED_BASE ?? 1);
const range = (n: number): number[] => (single !== undefined ? [Number(single)] : Array.from({ length: n }, (_, i) => base + i));
const PER_SERVER = Number(process.env.FUZZ_SEEDS_PER_SERVER ?? 100);
// stop after this many drifting seeds: a broken rule drifts on most seeds, and each then waits out
// its timeouts (0: never stop early)
const MAX_FAILED = Number(process.env.FUZZ_MAX_FAILED ?? 5);
const ONLY = process.env.FUZZ_STORE;
const STORES: Array<{ name: string; store: string; seeds: number[] }> = ONLY
  ? [{ name: ONLY.startsWith("redis") ? "redis" : ONLY, store: ONLY, seeds: range(count) }]
  : [
      { name: "sqlite", store: "sqlite", seeds: range(count) },
      { name: "redis", store: "redis", seeds: range(Number(process.env.FUZZ_REDIS_SEEDS ?? 20)) },
    ];

describe.each(STORES)("differential: server vs reference model over WebSocket ($name store)", ({ name, store, seeds }) => {
  it(`${seeds.length} seeds (${seeds[0]}..${seeds[seeds.length - 1]}): zero drift`, async () => {
    const t0 = Date.now();
    const failed: SeedReport[] = [];
    const hint = (seed: number): string => (name === "sqlite" ? "" : `FUZZ_STORE=${store} `) + replayHint(seed);
    let campaign: Campaign | undefined;
    let sends = 0;
    let rows = 0;
    let ran = 0;
    const mirror: Violation[] = [];
    try {
      for (let i = 0; i < seeds.length; i++) {
        if (i % PER_SERVER === 0) {
          if (campaign) {
            mirror.push(...(await campaign.redisMirror()));
            await campaign.stop();
            await campaign.close();
          }
          // the fixture module adds `side_effect` (a non-deterministic write that waits for its
          // durable started row): slower lanes, so tiny timeouts expire while commands queue
          campaign = await Campaign.start({ fixtures: true, store });
        }
        const seed = seeds[i]!;
        const report = await campaign!.runSeed(seed, { sideEffectRate: 0.12 });
        ran++;
        sends += report.sends;
        rows += report.rows;
        if (report.violations.length > 0) {
          failed.push(report);
          console.error(`seed ${seed}: ${report.violations.length} violation(s)\n${fmtViolations(report.violations)}\n${hint(seed)}`);
          if (MAX_FAILED > 0 && failed.length >= MAX_FAILED) {
            console.error(`differential: stopping after ${failed.length} drifting seeds (FUZZ_MAX_FAILED=${MAX_FAILED}; 0 runs every seed)`);
            break;
          }
        }
        if (process.env.FUZZ_PROGRESS && (i + 1) % 100 === 0) console.log(`fuzz: ${i + 1}/${seeds.length} seeds, ${failed.length} failing, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      }
      if (campaign) mirror.push(...(await campaign.redisMirror()));
    } finally {
      await campaign?.stop();
      await campaign?.close();
    }
    const given = campaign ? Object.fromEntries(campaign.model.given) : {};
    console.log(
      `differential (${name}): ${ran} of ${seeds.length} seeds, ${sends} frames, ${rows} journal rows, ${failed.length} drifting, ${((Date.now() - t0) / 1000).toFixed(1)} s` +
        ` (given outcomes in the last server: ${JSON.stringify(given)}})`,
    );
    expect(failed.map((f) => `seed ${f.seed}: ${f.violations[0]!.invariant} — ${hint(f.seed)}`)).toEqual([]);
    expect(fmtViolations(mirror), "the Redis journal stream vs the projection the model read").toBe(fmtViolations([]));
  }, Math.max(1_200_000, seeds.length * 3_000));
});
