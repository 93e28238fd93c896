/**
 * #18 store-specific invariants belong to the audit (src/audit/types.ts STORE_INVARIANTS,
 * store-checks.ts): a store contributes a check through AuditOptions.storeChecks, and the audit
 * reports it (tally, violations with the key in the evidence, its lines in the text report); a
 * report without store checks (a SQLite journal's) lists none.
 */
import { expect, it } from "vitest";
import { STORE_INVARIANTS, STORE_INVARIANT_DESCRIPTIONS, formatReport, runAudit } from "../../src/audit/index.js";
import { CommandRegistry } from "../../src/commands/registry.js";
import { SqliteStore } from "../../src/journal/sqlite-store.js";
import { RecordBuilder } from "../journal/helpers.js";

it("#18.22 a store's check is reported under the audit's own invariant name; without it the report has no store line", async () => {
  expect(STORE_INVARIANTS).toEqual(["redis_materialized_keys"]);
  expect(STORE_INVARIANT_DESCRIPTIONS.redis_materialized_keys.description).toMatch(/Redis's materialized keys/);
  const store = new SqliteStore({ path: ":memory:", durability: "off" });
  store.open();
  const b = new RecordBuilder();
  store.commit([b.record("accepted", "a", null)]);
  const registry = new CommandRegistry();
  const reads = store.openAuditReads();
  try {
    const plain = await runAudit(reads, null, registry);
    expect(Object.keys(plain.invariants)).not.toContain("redis_materialized_keys");
    expect(formatReport(plain)).not.toContain("redis_materialized_keys");
    const finding = { key: "cw:{x}:cmd:a", commandId: "a", message: "command a: Redis key cw:{x}:cmd:a has status \"running\"", evidence: { redis: { status: "running" }, journal: { status: "queued" } } };
    const withCheck = await runAudit(reads, null, registry, { storeChecks: [{ invariant: "redis_materialized_keys", run: () => [finding] }] });
    expect(withCheck.ok).toBe(false);
    expect(withCheck.invariants.redis_materialized_keys).toEqual({ checks: 1, violations: 1 });
    expect(withCheck.violations).toEqual([{ invariant: "redis_materialized_keys", commandId: "a", message: finding.message, evidence: { key: "cw:{x}:cmd:a", ...finding.evidence } }]);
    const text = formatReport(withCheck);
    expect(text).toMatch(/redis_materialized_keys\s+1\s+1 {3}\(Redis's keys vs the journal\)/);
    expect(text).toContain(`  [redis_materialized_keys] ${finding.message}`);
    expect(text.trimEnd().split("\n").pop()).toBe("result: FAILED — 1 in Redis's materialized keys");
    const clean = await runAudit(reads, null, registry, { storeChecks: [{ invariant: "redis_materialized_keys", run: () => [] }] });
    expect(clean.ok).toBe(true);
    expect(formatReport(clean)).toMatch(/redis_materialized_keys\s+1\s+0[^\n]*\n\nresult: OK/);
  } finally {
    reads.close();
    store.close();
  }
});
