/**
 * Issue #6 (Level 5) differential fuzzing: seeded multi-client bursts against the real server over
 * WebSocket, every response, every journal row and the final session states compared with the
 * reference model (test/model/model.ts), plus the invariant checkers. Zero drift is the bar.
 *
 * FUZZ_SEEDS (default 200) seeds from FUZZ_SEED_BASE (default 1); FUZZ_SEED=N runs one seed; the
 * run stops after FUZZ_MAX_FAILED (default 5; 0 never) drifting seeds.
 * `npm run fuzz -- --seeds 10000` runs a long campaign, `npm run fuzz -- --seed N` replays one.
 */
import { describe, expect, it } from "vitest";
import { Campaign, replayHint, type SeedReport } from "../model/campaign.js";
import { fmtViolations } from "../model/types.js";

const single = process.env.FUZZ_SEED;
const count = Number(process.env.FUZZ_SEEDS ?? 200);
const base = Number(process.env.FUZZ_SEED_BASE ?? 1);
const seeds = single !== undefined ? [Number(single)] : Array.from({ length: count }, (_, i) => base + i);
const PER_SERVER = Number(process.env.FUZZ_SEEDS_PER_SERVER ?? 100);
// stop after this many drifting seeds: a broken rule drifts on most seeds, and each then waits out
// its timeouts (0: never stop early)
const MAX_FAILED = Number(process.env.FUZZ_MAX_FAILED ?? 5);

describe("differential: server vs reference model over WebSocket", () => {
  it(`${seeds.length} seeds (${seeds[0]}..${seeds[seeds.length - 1]}): zero drift`, async () => {
    const t0 = Date.now();
    const failed: SeedReport[] = [];
    let campaign: Campaign | undefined;
    let sends = 0;
    let rows = 0;
    let ran = 0;
    try {
      for (let i = 0; i < seeds.length; i++) {
        if (i % PER_SERVER === 0) {
          if (campaign) {
            await campaign.stop();
            campaign.close();
          }
          // the fixture module adds `side_effect` (a non-deterministic write that waits for its
          // durable started row): slower lanes, so tiny timeouts expire while commands queue
          campaign = await Campaign.start({ fixtures: true });
        }
        const seed = seeds[i]!;
        const report = await campaign!.runSeed(seed, { sideEffectRate: 0.12 });
        ran++;
        sends += report.sends;
        rows += report.rows;
        if (report.violations.length > 0) {
          failed.push(report);
          console.error(`seed ${seed}: ${report.violations.length} violation(s)\n${fmtViolations(report.violations)}\n${replayHint(seed)}`);
          if (MAX_FAILED > 0 && failed.length >= MAX_FAILED) {
            console.error(`differential: stopping after ${failed.length} drifting seeds (FUZZ_MAX_FAILED=${MAX_FAILED}; 0 runs every seed)`);
            break;
          }
        }
        if (process.env.FUZZ_PROGRESS && (i + 1) % 100 === 0) console.log(`fuzz: ${i + 1}/${seeds.length} seeds, ${failed.length} failing, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      }
    } finally {
      await campaign?.stop();
      campaign?.close();
    }
    const given = campaign ? Object.fromEntries(campaign.model.given) : {};
    console.log(
      `differential: ${ran} of ${seeds.length} seeds, ${sends} frames, ${rows} journal rows, ${failed.length} drifting, ${((Date.now() - t0) / 1000).toFixed(1)} s` +
        ` (given outcomes in the last server: ${JSON.stringify(given)}})`,
    );
    expect(failed.map((f) => `seed ${f.seed}: ${f.violations[0]!.invariant} — ${replayHint(f.seed)}`)).toEqual([]);
  }, Math.max(1_200_000, seeds.length * 3_000));
});
