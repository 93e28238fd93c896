/**
 * Issue #4 item 4, the replay audit: a real journal built through the in-process server audits
 * clean (fully, per window, per session, and through audit_journal); copies corrupted in distinct
 * ways are each reported under the invariant they break.
 */
import { copyFileSync, existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAuditDatabase, runAudit, runAuditSync, type AuditReport, type InvariantName } from "../../src/audit/index.js";
import { BUILTIN_COMMANDS } from "../../src/commands/builtin/index.js";
import { defineCommand } from "../../src/commands/define.js";
import { CommandRegistry } from "../../src/commands/registry.js";
import { barrierCommands } from "../helpers/barrier.js";
import { startInProc, type FakeConnection } from "../helpers/inproc.js";

type Frame = Record<string, any>;

const barrier = barrierCommands();
// journals ctx.now() / ctx.random(): re-execution must be fed the recorded values
const stamp = defineCommand<{ label: string }>({
  type: "stamp",
  scope: "session",
  effect: "write",
  deterministic: true,
  params: { type: "object", properties: { label: { type: "string" } }, required: ["label"] },
  run(ctx, { label }) {
    const at = ctx.now();
    const r = ctx.random();
    ctx.state.stamps = [...(ctx.state.stamps ?? []), { label, at, r }];
    return { at, r };
  },
});
// not deterministic: skipped (and counted) by re-execution
const external = defineCommand<{ n?: number }>({
  type: "external",
  scope: "session",
  effect: "write",
  params: { type: "object", properties: { n: { type: "integer" } } },
  run(ctx, { n }) {
    ctx.state.external = (ctx.state.external ?? 0) + (n ?? 1);
    return { external: ctx.state.external };
  },
});
const COMMANDS = [...barrier.commands, stamp, external];

function registry(): CommandRegistry {
  const r = new CommandRegistry();
  for (const d of [...BUILTIN_COMMANDS, ...COMMANDS]) r.register(d);
  return r;
}

const dir = mkdtempSync(join(tmpdir(), "causeway-audit-"));
const DB = join(dir, "journal.db");
/** ids of interesting commands, for the corruptions */
const ids = {
  replayedOriginal: "i1",
  dependency: "dep-1",
  dependent: "dependent-1",
  timedOut: "t-queued",
  plainSet: "a-set-3",
};

async function buildJournal(): Promise<void> {
  const server = startInProc({ config: { db: DB, durability: "off", dependencyWaitMs: 20_000 }, commands: COMMANDS });
  const c = server.connect();
  const ok = async (cmd: Frame, expectSuccess = true): Promise<Frame> => {
    const r = await c.request(cmd);
    expect(r.success, JSON.stringify(r)).toBe(expectSuccess);
    return r;
  };
  await ok({ type: "create_session", id: "create-a", sessionId: "a" });
  await ok({ type: "create_session", id: "create-b", sessionId: "b", state: { n: 0 } });
  await ok({ type: "create_session", id: "create-c", sessionId: "c" });
  await ok({ type: "create_session", id: "create-gen" }); // generated session id (derived from the command id)
  for (let i = 0; i < 5; i++) await ok({ type: "set", id: `a-set-${i}`, sessionId: "a", path: `/k${i}`, value: { i, tags: ["x", i] } });
  await ok({ type: "patch", id: "a-patch", sessionId: "a", ops: [{ op: "add", path: "/p", value: 1 }, { op: "replace", path: "/k0", value: 0 }] });
  const badPatch = await ok({ type: "patch", id: "a-patch-bad", sessionId: "a", ops: [{ op: "test", path: "/p", value: 2 }] }, false);
  expect(badPatch.code).toBe("patch_failed");
  await ok({ type: "get_state", id: "a-read", sessionId: "a" });
  await ok({ type: "stamp", id: "a-stamp", sessionId: "a", label: "first" });
  await ok({ type: "external", id: "a-ext", sessionId: "a", n: 2 });
  // optimistic concurrency: a conflict and a match
  const conflict = await ok({ type: "set", id: "a-cas-bad", sessionId: "a", path: "/cas", value: 1, ifSessionVersion: 0 }, false);
  expect(conflict.code).toBe("version_conflict");
  await ok({ type: "set", id: "a-cas-good", sessionId: "a", path: "/cas", value: 2, ifSessionVersion: conflict.sessionVersion });
  // idempotency: a replay by key (other id), a replay by id, and a conflict on the id
  await ok({ type: "set", id: ids.replayedOriginal, sessionId: "b", path: "/n", value: 1, idempotencyKey: "k1" });
  expect((await ok({ type: "set", id: "i2", sessionId: "b", path: "/n", value: 1, idempotencyKey: "k1" })).replayed).toBe(true);
  expect((await ok({ type: "set", id: ids.replayedOriginal, sessionId: "b", path: "/n", value: 1, idempotencyKey: "k1" })).replayed).toBe(true);
  expect((await ok({ type: "set", id: ids.replayedOriginal, sessionId: "b", path: "/n", value: 99 }, false)).code).toBe("replay_conflict");
  // dependsOn across lanes: the dependent waits at its lane head for a dependency queued behind a hold
  const hold = c.request({ type: "hold", id: "hold-c", sessionId: "c", key: "g1", value: "held" });
  const dep = c.request({ type: "set", id: ids.dependency, sessionId: "c", path: "/dep", value: true });
  const dependent = c.request({ type: "set", id: ids.dependent, sessionId: "a", path: "/after", value: "dep", dependsOn: [ids.dependency] });
  // a queued command that times out before it starts (the lane is held)
  const timedOut = await c.request({ type: "set", id: ids.timedOut, sessionId: "c", path: "/never", value: 1, timeoutMs: 30 });
  expect(timedOut).toMatchObject({ success: false, code: "timeout", timedOut: true });
  barrier.release("g1");
  expect((await hold).success).toBe(true);
  expect((await dep).success).toBe(true);
  expect((await dependent).success).toBe(true);
  // a running command that times out (its changes discarded)
  const running = await c.request({ type: "hold", id: "hold-timeout", sessionId: "c", key: "never", timeoutMs: 40 });
  expect(running).toMatchObject({ code: "timeout", timedOut: true });
  // dependency failures
  expect((await ok({ type: "set", id: "dep-on-failed", sessionId: "b", path: "/x", value: 1, dependsOn: ["a-patch-bad"] }, false)).code).toBe("dependency_failed");
  expect((await ok({ type: "set", id: "dep-on-unknown", sessionId: "b", path: "/x", value: 1, dependsOn: ["no-such-command"] }, false)).code).toBe("dependency_unknown");
  // delete, a command on the deleted session, re-create
  await ok({ type: "delete_session", id: "delete-b", sessionId: "b" });
  expect((await ok({ type: "get_state", id: "b-gone", sessionId: "b" }, false)).code).toBe("session_not_found");
  expect((await ok({ type: "delete_session", id: "delete-b-again", sessionId: "b" }, false)).code).toBe("session_not_found");
  expect((await ok({ type: "create_session", id: "create-a-again", sessionId: "a" }, false)).code).toBe("session_exists");
  await ok({ type: "create_session", id: "recreate-b", sessionId: "b", state: { again: true } });
  await ok({ type: "set", id: "b-after", sessionId: "b", path: "/n", value: 5 });
  await ok({ type: "list_sessions", id: "list-1" });
  // a burst over several lanes, with list_sessions racing the writes
  const burst: Array<Promise<Frame>> = [];
  for (let i = 0; i < 60; i++) {
    const sid = ["a", "b", "c"][i % 3]!;
    burst.push(c.request({ type: "set", id: `burst-${i}`, sessionId: sid, path: "/burst/-", value: i }));
    if (i % 20 === 0) burst.push(c.request({ type: "list_sessions", id: `burst-list-${i}` }));
  }
  for (const r of await Promise.all(burst)) expect(r.success).toBe(true);
  await ok({ type: "set", id: "no-id-key", sessionId: "c", path: "/z", value: 1, idempotencyKey: "k2" });
  await c.request({ type: "set", sessionId: "c", path: "/z", value: 1, idempotencyKey: "k2" });
  await server.stop();
}

async function audit(path: string, opts: Parameters<typeof runAudit>[3] = {}): Promise<AuditReport> {
  const db = openAuditDatabase(path);
  try {
    return await runAudit(db, path, registry(), opts);
  } finally {
    db.close();
  }
}

let n = 0;
/** A writable copy with the append-only / write-once triggers dropped, so raw SQL can corrupt it. */
function corruptCopy(fn: (db: Database.Database) => void): string {
  const path = join(dir, `corrupt-${++n}.db`);
  copyFileSync(DB, path);
  // a read-only audit of a WAL database leaves an empty -wal behind (SQLite needs it to read)
  if (existsSync(`${DB}-wal`)) copyFileSync(`${DB}-wal`, `${path}-wal`);
  const db = new Database(path);
  for (const t of ["journal_append_only_update", "journal_append_only_delete", "commands_outcome_written_once"]) db.exec(`DROP TRIGGER IF EXISTS ${t}`);
  db.transaction(() => fn(db))();
  db.close();
  return path;
}

const row = (db: Database.Database, commandId: string, phase: string): Record<string, any> =>
  db.prepare("SELECT * FROM journal WHERE command_id = ? AND phase = ? ORDER BY seq LIMIT 1").get(commandId, phase) as Record<string, any>;

/** Insert a journal row right after `afterSeq`, renumbering seq / lane_seq (and the tables that point at them). */
function insertRowAfter(db: Database.Database, afterSeq: number, r: Record<string, any>): void {
  const laneSeq = (db.prepare("SELECT coalesce(max(lane_seq), 0) AS s FROM journal WHERE lane = ? AND seq <= ?").get(r.lane, afterSeq) as { s: number }).s + 1;
  const BIG = 1_000_000_000;
  db.prepare("UPDATE journal SET seq = seq + ? WHERE seq > ?").run(BIG, afterSeq);
  db.prepare("UPDATE journal SET seq = seq - ? + 1 WHERE seq > ?").run(BIG, BIG);
  db.prepare("UPDATE journal SET lane_seq = lane_seq + ? WHERE lane = ? AND lane_seq >= ?").run(BIG, r.lane, laneSeq);
  db.prepare("UPDATE journal SET lane_seq = lane_seq - ? + 1 WHERE lane = ? AND lane_seq > ?").run(BIG, r.lane, BIG);
  db.prepare("UPDATE commands SET accepted_seq = accepted_seq + 1 WHERE accepted_seq > ?").run(afterSeq);
  db.prepare("UPDATE commands SET finished_seq = finished_seq + 1 WHERE finished_seq > ?").run(afterSeq);
  db.prepare("UPDATE lanes SET last_lane_seq = last_lane_seq + 1 WHERE lane = ?").run(r.lane);
  const cols = { ...r, seq: afterSeq + 1, lane_seq: laneSeq };
  const names = Object.keys(cols);
  db.prepare(`INSERT INTO journal (${names.join(", ")}) VALUES (${names.map((k) => `@${k}`).join(", ")})`).run(cols);
}

function invariantsOf(r: AuditReport): InvariantName[] {
  return [...new Set(r.violations.map((v) => v.invariant))].sort();
}

beforeAll(buildJournal, 60_000);

describe("the audit of a real journal", () => {
  it("is clean, re-executes the deterministic commands and counts what it skips", async () => {
    const r = await audit(DB);
    expect(r.violations, JSON.stringify(r.violations, null, 2)).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.window.complete).toBe(true);
    expect(r.checkedRows).toBe(r.window.lastSeq);
    expect(r.unfinished.count).toBe(0);
    for (const [name, t] of Object.entries(r.invariants)) expect(t.checks, name).toBeGreaterThan(0);
    expect(r.reexecution.mismatched).toBe(0);
    expect(r.reexecution.matched).toBeGreaterThan(80);
    expect(r.reexecution.preconditionsReproduced).toBeGreaterThanOrEqual(2); // version_conflict + session_not_found
    expect(r.reexecution.skipped.non_deterministic).toBe(1);
    expect(r.reexecution.skipped["precondition:timeout"]).toBe(1);
    expect(r.reexecution.skipped["engine_outcome:timeout"]).toBe(1);
    expect(r.reexecution.skipped["precondition:dependency_failed"]).toBe(1);
    expect(r.reexecution.skipped["precondition:dependency_unknown"]).toBe(1);
  });

  it("is clean per session and in every window", async () => {
    for (const s of ["a", "b", "c"]) {
      const r = await audit(DB, { sessionId: s });
      expect(r.violations, `session ${s}: ${JSON.stringify(r.violations, null, 2)}`).toEqual([]);
      expect(r.window.complete).toBe(false);
    }
    const db = openAuditDatabase(DB);
    try {
      const last = db.bounds().lastSeq;
      for (const maxRows of [1, 7, 50]) {
        for (let from = 0; from < last; from += maxRows === 1 ? 3 : 1) {
          const r = runAuditSync(db, registry(), { fromSeq: from, maxRows });
          expect(r.violations, `window ${from}+${maxRows}: ${JSON.stringify(r.violations, null, 2)}`).toEqual([]);
        }
      }
    } finally {
      db.close();
    }
  });

  it("refuses a file that does not exist or is not a journal (no file is created)", () => {
    const missing = join(dir, "missing.db");
    expect(() => openAuditDatabase(missing)).toThrow(/cannot open/);
    expect(existsSync(missing)).toBe(false);
    const other = join(dir, "other.db");
    new Database(other).exec("CREATE TABLE t (x)");
    expect(() => openAuditDatabase(other)).toThrow(/not a causeway journal/);
  });
});

describe("a corrupted copy is reported under the invariant it breaks", () => {
  const cases: Array<{ name: string; invariant: InvariantName; only?: InvariantName[]; corrupt: (db: Database.Database) => void }> = [
    {
      name: "a deleted journal row (gap)",
      invariant: "lane_seq_gap_free",
      only: ["lane_seq_gap_free"],
      corrupt: (db) => {
        const r = db.prepare("SELECT seq FROM journal WHERE phase = 'replayed' ORDER BY seq LIMIT 1").get() as { seq: number };
        db.prepare("DELETE FROM journal WHERE seq = ?").run(r.seq);
      },
    },
    {
      name: "a duplicated finished row",
      invariant: "one_terminal_outcome",
      only: ["one_terminal_outcome"],
      corrupt: (db) => {
        const f = row(db, ids.plainSet, "finished");
        const last = db.prepare("SELECT max(seq) AS s FROM journal").get() as { s: number };
        const laneSeq = (db.prepare("SELECT max(lane_seq) AS s FROM journal WHERE lane = ?").get(f.lane) as { s: number }).s + 1;
        db.prepare(
          `INSERT INTO journal SELECT ?, lane, ?, command_id, session_id, phase, recorded_at, type, actor, fingerprint, explicit_id, idempotency_key, idempotency_scope,
             depends_on, if_session_version, params, timeout_ms, status, outcome, NULL, idempotency_expires_at, detail, revision FROM journal WHERE seq = ?`,
        ).run(last.s + 1, laneSeq, f.seq);
        db.prepare("UPDATE lanes SET last_lane_seq = ?, updated_at = ? WHERE lane = ?").run(laneSeq, f.recorded_at, f.lane);
      },
    },
    {
      name: "a replayed outcome that differs from the original",
      invariant: "replay_consistency",
      only: ["replay_consistency"],
      corrupt: (db) => {
        const r = db.prepare("SELECT seq FROM journal WHERE phase = 'replayed' AND json_extract(detail, '$.replayOf') = ? ORDER BY seq LIMIT 1").get(ids.replayedOriginal) as { seq: number };
        db.prepare("UPDATE journal SET outcome = json_set(outcome, '$.sessionVersion', 42) WHERE seq = ?").run(r.seq);
      },
    },
    {
      name: "a bumped version in the sessions table",
      invariant: "materialized_tables",
      only: ["materialized_tables"],
      corrupt: (db) => db.prepare("UPDATE sessions SET version = version + 1 WHERE session_id = 'a'").run(),
    },
    {
      name: "a recorded outcome whose data re-execution does not reproduce",
      invariant: "deterministic_reexecution",
      only: ["deterministic_reexecution"],
      corrupt: (db) => {
        const f = row(db, ids.plainSet, "finished");
        const outcome = JSON.stringify({ ...JSON.parse(f.outcome as string), data: { path: "/elsewhere" } });
        db.prepare("UPDATE journal SET outcome = ? WHERE seq = ?").run(outcome, f.seq);
        db.prepare("UPDATE commands SET outcome = ? WHERE command_id = ?").run(outcome, ids.plainSet);
      },
    },
    {
      name: "a recorded session state that re-execution does not reproduce",
      invariant: "deterministic_reexecution",
      corrupt: (db) => {
        const f = row(db, ids.plainSet, "finished");
        db.prepare("UPDATE journal SET effect = json_set(effect, '$.state.k3', 'tampered') WHERE seq = ?").run(f.seq);
      },
    },
    {
      name: "a started row moved before its dependency's finished row",
      invariant: "dependencies_before_start",
      only: ["dependencies_before_start"],
      corrupt: (db) => {
        const fin = row(db, ids.dependency, "finished");
        const start = row(db, ids.dependent, "started");
        expect(start.seq).toBe(fin.seq + 1); // the dependent starts in the same step the dependency finishes
        // swap the two rows' seq (through a free number: seq is the primary key)
        db.prepare("UPDATE journal SET seq = 999999999 WHERE seq = ?").run(fin.seq);
        db.prepare("UPDATE journal SET seq = ? WHERE seq = ?").run(fin.seq, start.seq);
        db.prepare("UPDATE journal SET seq = ? WHERE seq = 999999999").run(start.seq);
        db.prepare("UPDATE commands SET finished_seq = ? WHERE command_id = ?").run(start.seq, ids.dependency);
      },
    },
    {
      name: "a started row for a command that timed out before it started",
      invariant: "timeout_never_started",
      only: ["timeout_never_started"],
      corrupt: (db) => {
        const acc = row(db, ids.timedOut, "accepted");
        insertRowAfter(db, acc.seq as number, {
          lane: acc.lane,
          command_id: acc.command_id,
          session_id: acc.session_id,
          phase: "started",
          recorded_at: (acc.recorded_at as number) + 1,
          type: acc.type,
          actor: acc.actor,
          fingerprint: acc.fingerprint,
        });
        db.prepare("UPDATE commands SET started_at = ? WHERE command_id = ?").run((acc.recorded_at as number) + 1, ids.timedOut);
      },
    },
    {
      name: "a started row after the command's deadline",
      invariant: "timeout_never_started",
      only: ["timeout_never_started"],
      corrupt: (db) => {
        const acc = row(db, ids.plainSet, "accepted");
        const start = row(db, ids.plainSet, "started");
        db.prepare("UPDATE journal SET recorded_at = ? WHERE seq = ?").run((acc.recorded_at as number) + (acc.timeout_ms as number) + 1, start.seq);
        db.prepare("UPDATE commands SET started_at = ? WHERE command_id = ?").run((acc.recorded_at as number) + (acc.timeout_ms as number) + 1, ids.plainSet);
      },
    },
    {
      name: "a write effect that skips a version",
      invariant: "session_version_sequence",
      corrupt: (db) => {
        const f = row(db, ids.plainSet, "finished");
        db.prepare("UPDATE journal SET effect = json_set(effect, '$.version', json_extract(effect, '$.version') + 1) WHERE seq = ?").run(f.seq);
      },
    },
    {
      name: "a finished row without its started row (phase changed)",
      invariant: "lifecycle_order",
      corrupt: (db) => {
        const s = row(db, ids.plainSet, "started");
        db.prepare("UPDATE journal SET phase = 'requeued' WHERE seq = ?").run(s.seq);
      },
    },
    {
      name: "a commands row with an outcome the journal never finished (finished row turned into a replay)",
      invariant: "one_terminal_outcome",
      corrupt: (db) => {
        const f = row(db, "b-after", "finished");
        db.prepare("UPDATE journal SET phase = 'replayed', status = NULL, effect = NULL, detail = json_object('replayOf', 'b-after', 'by', 'id') WHERE seq = ?").run(f.seq);
      },
    },
  ];

  for (const tc of cases) {
    it(`${tc.name} → ${tc.invariant}`, async () => {
      const path = corruptCopy(tc.corrupt);
      const r = await audit(path);
      expect(r.ok).toBe(false);
      const found = invariantsOf(r);
      expect(found, JSON.stringify(r.violations, null, 2)).toContain(tc.invariant);
      if (tc.only) expect(found, JSON.stringify(r.violations, null, 2)).toEqual(tc.only);
      const v = r.violations.find((x) => x.invariant === tc.invariant)!;
      expect(v.message.length).toBeGreaterThan(10);
      expect(v.evidence).toBeTypeOf("object");
    });
  }
});

describe("audit_journal (in-process, bounded)", () => {
  let server: ReturnType<typeof startInProc>;
  let c: FakeConnection;
  const path = join(dir, "live.db");

  beforeAll(() => {
    copyFileSync(DB, path);
    server = startInProc({ config: { db: path, durability: "off" }, commands: COMMANDS });
    c = server.connect();
  });
  afterAll(() => server.stop());

  it("audits the live journal while the server serves, and pages with fromSeq", async () => {
    await c.request({ type: "set", id: "live-1", sessionId: "a", path: "/live", value: 1 });
    const full = await c.request({ type: "audit_journal", maxRows: 100_000 });
    expect(full.success).toBe(true);
    expect(full.data.violations).toEqual([]);
    expect(full.data).toMatchObject({ ok: true, truncated: false, violationCount: 0 });
    expect(full.data.checkedRows).toBe(full.data.lastSeq);
    expect(full.data.reexecution.matched).toBeGreaterThan(0);
    // user command types are not in the in-process registry: counted, not re-run
    expect(full.data.reexecution.skipped.unregistered).toBeGreaterThan(0);

    let from = 0;
    let pages = 0;
    let last: any;
    for (;;) {
      const r = await c.request({ type: "audit_journal", fromSeq: from, maxRows: 25 });
      expect(r.data.violations, JSON.stringify(r.data.violations)).toEqual([]);
      pages++;
      last = r;
      if (!r.data.truncated) break;
      expect(r.data.nextFromSeq).toBe(from + 25);
      from = r.data.nextFromSeq;
    }
    // every audit_journal is journaled itself, so the journal grows while it pages
    expect(last.data.toSeq).toBeGreaterThan(full.data.lastSeq);
    expect(pages).toBe(Math.ceil(last.data.toSeq / 25));
    const session = await c.request({ type: "audit_journal", sessionId: "b" });
    expect(session.data).toMatchObject({ ok: true });
  });

  it("#15.16 concurrent audits each answer in full (they run one at a time, each on its own snapshot)", async () => {
    const [x, y] = await Promise.all([c.request({ type: "audit_journal", maxRows: 100_000 }), c.request({ type: "audit_journal", maxRows: 100_000 })]);
    expect(x.data).toMatchObject({ ok: true, truncated: false, violationCount: 0 });
    expect(y.data).toMatchObject({ ok: true, truncated: false, violationCount: 0 });
    // one after the other in the server lane: the second also audits the first's own rows
    expect(y.data.checkedRows).toBeGreaterThan(x.data.checkedRows);
    expect(y.data.checkedRows).toBe(y.data.lastSeq);
  });

  it("#15.16 an in-memory journal (no other connection can open it) is audited on the server's own connection", async () => {
    const mem = startInProc({ config: { db: ":memory:" } });
    try {
      const m = mem.connect();
      await m.request({ type: "create_session", sessionId: "m" });
      await m.request({ type: "set", sessionId: "m", path: "/x", value: 1 });
      const r = await m.request({ type: "audit_journal" });
      expect(r.data).toMatchObject({ ok: true, truncated: false, violationCount: 0 });
      expect(r.data.checkedRows).toBe(r.data.lastSeq);
      expect(r.data.reexecution.matched).toBe(2);
    } finally {
      await mem.stop();
    }
  });

  it("validates its params", async () => {
    expect((await c.request({ type: "audit_journal", maxRows: 100_001 })).code).toBe("invalid_command");
    expect((await c.request({ type: "audit_journal", fromSeq: -1 })).code).toBe("invalid_command");
  });

  it("reports a violation it finds", async () => {
    // tamper with the live database behind the server's back (another connection)
    const raw = new Database(path);
    raw.exec("DROP TRIGGER journal_append_only_update");
    raw.prepare("UPDATE journal SET outcome = json_set(outcome, '$.data.path', '/x') WHERE command_id = 'live-1' AND phase = 'finished'").run();
    raw.close();
    const r = await c.request({ type: "audit_journal", maxRows: 100_000 });
    expect(r.data.ok).toBe(false);
    expect(r.data.violations.map((v: { invariant: string }) => v.invariant)).toContain("deterministic_reexecution");
  });
});
