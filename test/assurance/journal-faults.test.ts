/**
 * Issue #6 (Level 5) journal faults: the journal's fault hook (`--fault-fail-commit N
 * --fault-fail-count M --fault-kind ioerr|full`, src/journal/fault.ts: the batch's writes run, then
 * better-sqlite3's SqliteError with SQLITE_IOERR or SQLITE_FULL (disk full) is raised inside the
 * transaction, which rolls back) fails a seeded window of commits during a
 * differential burst. `journal_unavailable` outcomes are taken as given; everything else must
 * match the model. Acknowledged data is never lost: after a restart every command a client saw
 * finish replays unchanged, the model still matches, and `causeway audit` passes.
 *
 * Seeds: JFAULT_SEEDS (default 4) from JFAULT_SEED_BASE (default 1); JFAULT_SEED=N runs one.
 */
import { describe, expect, it } from "vitest";
import { audit, Campaign, replayHint, unchangedCheck } from "../model/campaign.js";
import { generate } from "../model/generator.js";
import { rng } from "../model/rng.js";
import { fmtViolations, type Violation } from "../model/types.js";

const FILE = "test/assurance/journal-faults.test.ts";
const seeds = process.env.JFAULT_SEED ? [Number(process.env.JFAULT_SEED)] : Array.from({ length: Number(process.env.JFAULT_SEEDS ?? 4) }, (_, i) => Number(process.env.JFAULT_SEED_BASE ?? 1) + i);

describe("journal faults: failing commits never lose acknowledged data", () => {
  it(`${seeds.length} seeds: model, invariants, replay after restart and audit all pass`, async () => {
    let failedCommands = 0;
    for (const seed of seeds) {
      const r = rng(seed ^ 0xfa17);
      const failCommit = r.int(2, 30);
      const failCount = r.int(1, 4);
      const kind = seed % 2 === 0 ? "full" : "ioerr";
      const hint = `${replayHint(seed, FILE, "JFAULT_SEED")} (commits ${failCommit}..${failCommit + failCount - 1} fail with ${kind})`;
      const c = await Campaign.start({ journalFaults: true, args: ["--fault-fail-commit", String(failCommit), "--fault-fail-count", String(failCount), "--fault-kind", kind] });
      const violations: Violation[] = [];
      try {
        const report = await c.check(generate(seed, { prefix: `j${seed}`, phases: [2, 4] }), {});
        violations.push(...report.violations);
        failedCommands += report.results.filter((x) => x.response?.frame.code === "journal_unavailable").length;
        // restart without the fault; everything acknowledged replays unchanged
        await c.stop();
        await c.boot([]);
        const u = unchangedCheck(report.results, c.model);
        const again = await c.check(u.wl, { partial: true });
        violations.push(...again.violations, ...u.verify(again.results));
        await c.stop();
        violations.push(...audit(c.db));
      } finally {
        c.close();
      }
      if (violations.length > 0) console.error(`journal-faults seed ${seed}: ${violations.length} violation(s)\n${fmtViolations(violations)}\n${hint}`);
      expect(violations.map((v) => `[${v.invariant}] ${v.message}`), hint).toEqual([]);
    }
    console.log(`journal faults: ${seeds.length} seeds, ${failedCommands} commands answered journal_unavailable`);
    if (seeds.length >= 3) expect(failedCommands, "the injected faults hit in-flight commands").toBeGreaterThan(0);
  }, 300_000);
});
