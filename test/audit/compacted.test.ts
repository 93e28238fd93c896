/**
 * The audit of a compacted journal (src/journal/retention.ts): it starts from the latest
 * checkpoint (session states and versions, lane heads) and checks the retained rows as if they
 * were the whole journal.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { expect, it } from "vitest";
import { openAuditDatabase, runAudit } from "../../src/audit/index.js";
import { BUILTIN_COMMANDS } from "../../src/commands/builtin/index.js";
import { CommandRegistry } from "../../src/commands/registry.js";
import { RETENTION_SCHEMA_SQL } from "../../src/journal/migrations/index.js";
import { clampCut, compact } from "../../src/journal/retention.js";
import { startInProc } from "../helpers/inproc.js";

it("audits a compacted journal from its latest checkpoint", async () => {
  const db = join(mkdtempSync(join(tmpdir(), "causeway-audit-compact-")), "journal.db");
  const server = startInProc({ config: { db, durability: "off" } });
  const c = server.connect();
  for (const s of ["a", "b"]) await c.request({ type: "create_session", id: `create-${s}`, sessionId: s });
  for (let i = 0; i < 200; i++) {
    await c.request({ type: "set", id: `w${i}`, sessionId: i % 2 ? "a" : "b", path: `/k${i % 3}`, value: i, ...(i % 10 === 0 ? { idempotencyKey: `k${i}` } : {}) });
  }
  await c.request({ type: "list_sessions", id: "list" });
  await server.stop();

  const raw = new Database(db);
  raw.exec(RETENTION_SCHEMA_SQL);
  const report = await compact(raw, clampCut(raw, 300), 50, () => Date.now() + 10 * 86_400_000);
  raw.close();
  expect(report.removedRows).toBe(300);

  const registry = new CommandRegistry();
  for (const d of BUILTIN_COMMANDS) registry.register(d);
  const adb = openAuditDatabase(db);
  try {
    const r = await runAudit(adb, db, registry);
    expect(r.violations).toEqual([]);
    expect(r.window).toMatchObject({ fromSeq: 300, firstRetainedSeq: 301, complete: true });
    expect(r.checkedRows).toBe(r.window.lastSeq - 300);
    expect(r.reexecution.matched).toBeGreaterThan(90);
    // list_sessions saw createdAt values the checkpoint does not keep: not re-run, not reported
    expect(r.reexecution.skipped.unknown_input).toBe(1);
  } finally {
    adb.close();
  }
});
