/**
 * #16: the audit re-executes a journal recorded EARLIER (fixtures/traces/settle.jsonl, by
 * `node scripts/make-trace-fixtures.mjs settle`) and must reproduce every outcome in it. The engine
 * and the audit share the settle rule (src/lifecycle/settle.ts), so a journal recorded in the same
 * run would change with the rule and hide a change to it; this one does not. The trace reaches
 * every rule once (fixtures/commands/settle-rules.mjs lists which command reaches which).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openAuditDatabase, runAudit, type AuditReport } from "../../src/audit/index.js";
import { BUILTIN_COMMANDS } from "../../src/commands/builtin/index.js";
import { defineCommand } from "../../src/commands/define.js";
import { CommandRegistry } from "../../src/commands/registry.js";
import { importTrace } from "../../src/journal/import.js";
import { SqliteStore } from "../../src/journal/sqlite-store.js";
import { CausewayError, OutcomeError } from "../../src/protocol/errors.js";
import { settleRuleCommands } from "../../fixtures/commands/settle-rules.mjs";
import { tempDir } from "../journal/helpers.js";

const ROOT = join(import.meta.dirname, "../..");
const TRACE = join(ROOT, "fixtures/traces/settle.jsonl");
const { dir, cleanup } = tempDir("causeway-settle-fixture-");
afterAll(cleanup);

let report: AuditReport;

beforeAll(async () => {
  const path = join(dir, "settle.db");
  const store = new SqliteStore({ path, durability: "off" });
  store.open();
  await importTrace(readFileSync(TRACE, "utf8").trim().split("\n"), store);
  store.close();
  const registry = new CommandRegistry();
  for (const d of [...BUILTIN_COMMANDS, ...settleRuleCommands({ defineCommand, CausewayError, OutcomeError })]) registry.register(d);
  const db = openAuditDatabase(path);
  try {
    report = await runAudit(db, path, registry);
  } finally {
    db.close();
  }
});

it("#16 the audit of the settle trace recorded earlier: no violation, every handler outcome re-executed and matched", () => {
  expect(report.violations, JSON.stringify(report.violations, null, 2)).toEqual([]);
  expect(report.ok).toBe(true);
  expect(report.commands).toBe(23);
  expect(report.reexecution).toEqual({
    // s-create, 3 writes, s-read, s-peek, s-list, s-bad-output, 5 × throw_code, s-outcome, s-exists, t-create, t-delete
    reexecuted: 17,
    matched: 17,
    mismatched: 0,
    // s-stale (version_conflict), x-missing (session_not_found)
    preconditionsReproduced: 2,
    skipped: { "precondition:dependency_unknown": 1, "precondition:dependency_failed": 1, "precondition:timeout": 1, "engine_outcome:timeout": 1 },
  });
});
