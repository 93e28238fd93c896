/**
 * Issue #14 §4: SessionInfo.createdAt became an ISO-8601 string (epoch ms moved to createdAtMs).
 * Journals written before recorded create_session / list_sessions outcomes with an epoch-ms
 * createdAt; re-execution now produces the ISO form, and the audit must still verify them, also
 * when the journal predates the create effect's createdAt (sessions then carry the finished row's
 * recorded_at after a restart).
 */
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { beforeAll, describe, expect, it } from "vitest";
import { openAuditDatabase, runAudit, type AuditReport } from "../../src/audit/index.js";
import { BUILTIN_COMMANDS } from "../../src/commands/builtin/index.js";
import { CommandRegistry } from "../../src/commands/registry.js";
import { startInProc } from "../helpers/inproc.js";

const dir = mkdtempSync(join(tmpdir(), "causeway-legacy-info-"));
const DB = join(dir, "journal.db");

async function audit(path: string): Promise<AuditReport> {
  const registry = new CommandRegistry();
  for (const d of BUILTIN_COMMANDS) registry.register(d);
  const db = openAuditDatabase(path);
  try {
    return await runAudit(db, path, registry, {});
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  const server = startInProc({ config: { db: DB, durability: "off" } });
  const c = server.connect();
  for (const cmd of [
    { type: "create_session", id: "c-a", sessionId: "a" },
    { type: "create_session", id: "c-b", sessionId: "b", state: { n: 1 } },
    { type: "list_sessions", id: "l-1" },
    { type: "delete_session", id: "d-b", sessionId: "b" },
    { type: "create_session", id: "c-b2", sessionId: "b" },
    { type: "create_session", id: "c-gen" },
    { type: "list_sessions", id: "l-2" },
  ]) {
    const r = await c.request(cmd);
    expect(r.success, JSON.stringify(r)).toBe(true);
  }
  expect((await c.request({ type: "list_sessions", id: "l-1" })).replayed).toBe(true);
  await server.stop();
});

type Info = { sessionId: string; sessionVersion: number; createdAt: string | number; createdAtMs?: number };

/** A SessionInfo as journals before #14 wrote it; `at` picks its createdAt (default: createdAtMs). */
function legacy(v: unknown, at: (i: Info) => number = (i) => i.createdAtMs!): unknown {
  if (Array.isArray(v)) return v.map((x) => legacy(x, at));
  if (v === null || typeof v !== "object") return v;
  const o = v as Info & Record<string, unknown>;
  if (typeof o.createdAt === "string" && typeof o.createdAtMs === "number") return { sessionId: o.sessionId, sessionVersion: o.sessionVersion, createdAt: at(o) };
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, legacy(x, at)]));
}

/** A copy of the journal rewritten as an older causeway wrote it (write-once triggers dropped). */
function legacyCopy(name: string, predatesEffectCreatedAt: boolean): string {
  const path = join(dir, `${name}.db`);
  copyFileSync(DB, path);
  const db = new Database(path);
  for (const t of ["journal_append_only_update", "commands_outcome_written_once"]) db.exec(`DROP TRIGGER IF EXISTS ${t}`);
  db.transaction(() => {
    // the session's createdAt as a restart of such a journal reports it: its create's finished recorded_at
    const createdAt = new Map<string, number>();
    const rewritten = new Map<string, string>();
    const rows = db.prepare("SELECT seq, command_id, phase, type, recorded_at, outcome, effect, detail FROM journal WHERE outcome IS NOT NULL ORDER BY seq").all() as Array<{ seq: number; command_id: string; phase: string; type: string; recorded_at: number; outcome: string; effect: string | null; detail: string | null }>;
    for (const r of rows) {
      const effect = r.effect ? (JSON.parse(r.effect) as { kind: string; sessionId: string; createdAt?: number }) : null;
      if (r.phase === "finished" && effect?.kind === "create" && predatesEffectCreatedAt) {
        // finished 3 ms after it was accepted, so that the two conventions differ
        const at = r.recorded_at + 3;
        const before = effect.createdAt;
        createdAt.set(effect.sessionId, at);
        delete effect.createdAt;
        db.prepare("UPDATE journal SET effect = ?, recorded_at = ? WHERE seq = ?").run(JSON.stringify(effect), at, r.seq);
        db.prepare("UPDATE commands SET finished_at = ? WHERE command_id = ?").run(at, r.command_id);
        db.prepare("UPDATE sessions SET created_at = ?, updated_at = CASE WHEN updated_at = ? THEN ? ELSE updated_at END WHERE session_id = ? AND created_at = ?").run(at, r.recorded_at, at, effect.sessionId, before);
        db.prepare("UPDATE lanes SET updated_at = ? WHERE (lane, last_lane_seq) = (SELECT lane, lane_seq FROM journal WHERE seq = ?)").run(at, r.seq);
      }
      if (r.type !== "create_session" && r.type !== "list_sessions") continue;
      const o = JSON.parse(r.outcome) as { data?: unknown };
      // a list answered after a restart reported the recorded_at convention; a replay answers its original's outcome
      const at = predatesEffectCreatedAt && r.type === "list_sessions" ? (i: Info) => createdAt.get(i.sessionId)! : undefined;
      const replayOf = r.phase === "replayed" ? (JSON.parse(r.detail!) as { replayOf: string }).replayOf : undefined;
      const old = replayOf !== undefined ? rewritten.get(replayOf)! : JSON.stringify({ ...o, data: legacy(o.data, at) });
      expect(old).not.toContain("createdAtMs");
      db.prepare("UPDATE journal SET outcome = ? WHERE seq = ?").run(old, r.seq);
      if (r.phase === "finished") {
        rewritten.set(r.command_id, old);
        db.prepare("UPDATE commands SET outcome = ? WHERE command_id = ?").run(old, r.command_id);
      }
    }
  })();
  db.close();
  return path;
}

describe("#14.4 the audit of journals written before SessionInfo.createdAt became ISO-8601", () => {
  it("#14.4 today's journal re-executes create_session and list_sessions to the same ISO form", async () => {
    const r = await audit(DB);
    expect(r.violations, JSON.stringify(r.violations, null, 2)).toEqual([]);
    expect(r.reexecution).toMatchObject({ mismatched: 0, matched: 7 });
  });

  it("#14.4 an epoch-ms createdAt recorded by an older causeway still verifies", async () => {
    const r = await audit(legacyCopy("legacy", false));
    expect(r.violations, JSON.stringify(r.violations, null, 2)).toEqual([]);
    expect(r.reexecution).toMatchObject({ mismatched: 0, matched: 7 });
  });

  it("#14.4 … also when the journal predates the create effect's createdAt (recorded_at after a restart)", async () => {
    const r = await audit(legacyCopy("legacy-restarted", true));
    expect(r.violations, JSON.stringify(r.violations, null, 2)).toEqual([]);
    expect(r.reexecution).toMatchObject({ mismatched: 0, matched: 7 });
  });

  it("#14.4 a legacy createdAt that is wrong is still reported", async () => {
    const path = legacyCopy("legacy-wrong", false);
    const db = new Database(path);
    db.exec("DROP TRIGGER IF EXISTS journal_append_only_update; DROP TRIGGER IF EXISTS commands_outcome_written_once");
    const row = db.prepare("SELECT seq, outcome FROM journal WHERE command_id = 'l-2' AND phase = 'finished'").get() as { seq: number; outcome: string };
    const o = JSON.parse(row.outcome) as { data: { sessions: Info[] } };
    o.data.sessions[0]!.createdAt = (o.data.sessions[0]!.createdAt as number) + 1;
    db.prepare("UPDATE journal SET outcome = ? WHERE seq = ?").run(JSON.stringify(o), row.seq);
    db.prepare("UPDATE commands SET outcome = ? WHERE command_id = 'l-2'").run(JSON.stringify(o));
    db.close();
    const r = await audit(path);
    expect(r.violations.map((v) => [v.invariant, v.commandId])).toEqual([["deterministic_reexecution", "l-2"]]);
  });
});
