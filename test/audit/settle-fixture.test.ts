/**
 * #16: the audit re-executes a journal recorded EARLIER (fixtures/traces/settle.jsonl, by
 * `node scripts/make-trace-fixtures.mjs settle`) and must reproduce every outcome in it. The engine
 * and the audit share the settle rule (src/lifecycle/settle.ts), so a journal recorded in the same
 * run would change with the rule and hide a change to it; this one does not. The trace reaches
 * every rule once (fixtures/commands/settle-rules.mjs lists which command reaches which), and
 * fixtures/traces/governed.jsonl (recorded earlier too) holds the governance verdicts, which are
 * preconditions (PRECONDITION_CODES) like the settle trace's dependency, timeout and recovery ones.
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
const trace = (name: string): string[] => readFileSync(join(ROOT, "fixtures/traces", name), "utf8").trim().split("\n");
const { dir, cleanup } = tempDir("causeway-settle-fixture-");
afterAll(cleanup);

/** Import a trace into an empty journal and audit it (built-in commands and those of settle-rules.mjs). */
async function auditTrace(name: string): Promise<AuditReport> {
  const path = join(dir, name.replace(/\.jsonl$/, ".db"));
  const store = new SqliteStore({ path, durability: "off" });
  store.open();
  await importTrace(trace(name), store);
  store.close();
  const registry = new CommandRegistry();
  for (const d of [...BUILTIN_COMMANDS, ...settleRuleCommands({ defineCommand, CausewayError, OutcomeError })]) registry.register(d);
  const db = openAuditDatabase(path);
  try {
    return await runAudit(db, path, registry);
  } finally {
    db.close();
  }
}

let settle: AuditReport;
let governed: AuditReport;
beforeAll(async () => {
  settle = await auditTrace("settle.jsonl");
  governed = await auditTrace("governed.jsonl");
});

it("#16 the audit of the settle trace recorded earlier: no violation, every handler outcome re-executed and matched", () => {
  expect(settle.violations, JSON.stringify(settle.violations, null, 2)).toEqual([]);
  expect(settle.ok).toBe(true);
  expect(settle.commands).toBe(31);
  expect(settle.reexecution).toEqual({
    // every command whose handler ran and answered: the three creates, t-delete, the four writes and
    // u-dep, s-read, s-peek, s-list, s-bad-output, the five throw_code, s-outcome and s-exists
    reexecuted: 19,
    matched: 19,
    mismatched: 0,
    // s-stale (version_conflict) and x-missing (session_not_found), reproduced from the session table
    preconditionsReproduced: 2,
    skipped: {
      "precondition:dependency_unknown": 1,
      "precondition:dependency_failed": 1,
      "precondition:dependency_timeout": 1,
      "precondition:timeout": 1,
      "precondition:interrupted": 1,
      "precondition:journal_unavailable": 1,
      // the engine's verdicts on handlers that were running: s-hold and u-hold timed out, s-crash-hold
      // interrupted by recovery, s-repair-hold failed by a journal commit that failed
      "engine_outcome:timeout": 2,
      "engine_outcome:interrupted": 1,
      "engine_outcome:journal_unavailable": 1,
    },
  });
});

it("#16 the audit of the governed trace recorded earlier: the governance verdicts are preconditions, no violation", () => {
  expect(governed.violations, JSON.stringify(governed.violations, null, 2)).toEqual([]);
  expect(governed.reexecution).toEqual({
    reexecuted: 5,
    matched: 5,
    mismatched: 0,
    preconditionsReproduced: 0,
    skipped: {
      // decided without running the handler
      "precondition:rejected": 1,
      "precondition:cancelled": 1,
      "precondition:expired": 1,
      "precondition:superseded": 1,
      // the hold running at the first stop, interrupted by recovery
      "engine_outcome:interrupted": 1,
      // login (fixtures/commands/test-commands.mjs) is not in this registry
      unregistered: 1,
    },
  });
});
