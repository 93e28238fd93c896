/**
 * #17 migration 6 on a journal a v5 server wrote (fixtures/journal-v5.db, built from the governed
 * trace by scripts/make-v5-fixture.mjs): the whole states of the v5 `sessions` rows become
 * checkpoints in `session_states`, the journal replays to the same states, the audit of the migrated
 * file is clean, and the migrated journal goes on with patch effects that restart rebuilds.
 */
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { openAuditDatabase, runAudit } from "../../src/audit/index.js";
import { BUILTIN_COMMANDS } from "../../src/commands/builtin/index.js";
import { CommandRegistry } from "../../src/commands/registry.js";
import { stateAfter } from "../../src/lifecycle/effects.js";
import { LATEST_SCHEMA_VERSION } from "../../src/journal/migrations/index.js";
import { SqliteStore } from "../../src/journal/sqlite-store.js";
import type { JournalRecord } from "../../src/journal/types.js";
import { startInProc } from "../helpers/inproc.js";
import { tempDir } from "./helpers.js";

const ROOT = join(import.meta.dirname, "../..");
const FIXTURE = join(ROOT, "fixtures/journal-v5.db");
const { dir, cleanup } = tempDir("causeway-v6-");
afterAll(cleanup);

/** The states the governed trace's effects leave (the trace the fixture was built from). */
function replayTrace(): Map<string, { state: unknown; version: number }> {
  const lines = readFileSync(join(ROOT, "fixtures/traces/governed.jsonl"), "utf8").trim().split("\n");
  const m = new Map<string, { state: unknown; version: number }>();
  for (const r of lines.slice(1).map((l) => JSON.parse(l) as JournalRecord)) {
    const e = r.phase === "finished" ? r.effect : undefined;
    if (!e) continue;
    if (e.kind === "delete") m.delete(e.sessionId);
    else m.set(e.sessionId, { state: stateAfter(e, m.get(e.sessionId)?.state), version: e.version });
  }
  return m;
}

describe("#17 migration 6 (session state checkpoints)", () => {
  it("#17 a v5 journal opens, migrates to v6 and replays to the same states; the audit of the migrated file is clean", async () => {
    const v5 = new Database(FIXTURE, { readonly: true });
    expect(v5.pragma("user_version", { simple: true })).toBe(5);
    const before = v5.prepare("SELECT session_id, state, version FROM sessions WHERE deleted_at IS NULL ORDER BY session_id").all() as Array<{ session_id: string; state: string; version: number }>;
    v5.close();
    const expected = replayTrace();
    expect(before.map((r) => [r.session_id, r.version, JSON.parse(r.state)])).toEqual([...expected].map(([id, s]) => [id, s.version, s.state]));

    const path = join(dir, "migrated.db");
    copyFileSync(FIXTURE, path);
    const store = new SqliteStore({ path, durability: "off" });
    const recovered = store.open();
    expect(recovered.schemaVersion).toBe(LATEST_SCHEMA_VERSION);
    expect(recovered.sessions.map((s) => [s.sessionId, s.version, s.state])).toEqual([...expected].map(([id, s]) => [id, s.version, s.state]));
    const db = store.database();
    expect(db.prepare("SELECT session_id, version, state FROM session_states ORDER BY session_id").all()).toEqual(before);
    expect((db.prepare("PRAGMA table_info(sessions)").all() as Array<{ name: string }>).map((c) => c.name)).not.toContain("state");
    expect(db.prepare("SELECT session_id, version, state_bytes FROM v_session_versions").all()).toEqual(before.map((r) => ({ session_id: r.session_id, version: r.version, state_bytes: r.state.length })));
    store.close();

    const registry = new CommandRegistry();
    for (const d of BUILTIN_COMMANDS) registry.register(d);
    const adb = openAuditDatabase(path);
    try {
      const report = await runAudit(adb, path, registry);
      expect(report.violations, JSON.stringify(report.violations, null, 2)).toEqual([]);
    } finally {
      adb.close();
    }
  });

  it("#17 the migrated journal goes on with patch effects after its checkpoint, and restart rebuilds the state from both", async () => {
    const path = join(dir, "continued.db");
    copyFileSync(FIXTURE, path);
    const [id, was] = [...replayTrace()][0]!;
    let server = startInProc({ config: { db: path, durability: "off" } });
    const c = server.connect();
    for (let i = 0; i < 3; i++) await c.request({ type: "set", id: `after-${i}`, sessionId: id, path: `/after${i}`, value: i });
    const live = await c.request({ type: "get_state", sessionId: id });
    expect(live).toMatchObject({ success: true, sessionVersion: was.version + 3 });
    await server.stop();
    const raw = new Database(path, { readonly: true });
    const kinds = (raw.prepare("SELECT effect FROM journal WHERE command_id LIKE 'after-%' AND phase = 'finished' ORDER BY seq").all() as Array<{ effect: string }>).map((r) => (JSON.parse(r.effect) as { kind: string }).kind);
    raw.close();
    expect(kinds).toContain("patch");
    server = startInProc({ config: { db: path, durability: "off" } });
    expect(await server.connect().request({ type: "get_state", sessionId: id })).toMatchObject({ success: true, sessionVersion: was.version + 3, data: live.data });
    await server.stop();
  });
});
