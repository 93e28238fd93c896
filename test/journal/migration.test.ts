import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CAUSEWAY_APPLICATION_ID } from "../../src/journal/file-identity.js";
import { LATEST_SCHEMA_VERSION, MIGRATIONS, readSchemaVersion } from "../../src/journal/migrations/index.js";
import { writeOldJournal } from "../../src/journal/migrations/old-journal.js";
import { queryHistory } from "../../src/journal/queries.js";
import { SqliteStore } from "../../src/journal/sqlite-store.js";
import { StoreOpenError } from "../../src/journal/types.js";
import { RecordBuilder, tempDir } from "./helpers.js";

const FIXTURE = new URL("../../fixtures/journal-v1.db", import.meta.url).pathname;

let tmp: { dir: string; cleanup: () => void };
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

function snapshot(db: Database.Database) {
  return {
    commands: db
      .prepare(
        "SELECT command_id, status, outcome, accepted_seq, finished_seq, finished_at, idempotency_key, idempotency_scope, depends_on, params FROM commands ORDER BY command_id",
      )
      .all(),
    idempotency: db.prepare("SELECT * FROM idempotency ORDER BY scope, key").all(),
    sessions: db.prepare("SELECT * FROM sessions ORDER BY session_id").all(),
    lanes: db.prepare("SELECT * FROM lanes ORDER BY lane").all(),
    journal: db.prepare("SELECT * FROM journal ORDER BY seq").all(),
  };
}

describe("migrations", () => {
  it("are numbered 1..N without gaps", () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(LATEST_SCHEMA_VERSION).toBe(7);
  });

  it("migrates the v1 fixture to v3 without changing any outcome, key, session or lane", () => {
    const v1Copy = join(tmp.dir, "v1-reference.db");
    const target = join(tmp.dir, "causeway.db");
    copyFileSync(FIXTURE, v1Copy);
    copyFileSync(FIXTURE, target);

    const ref = new Database(v1Copy, { readonly: true });
    expect(ref.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get()).toEqual({ value: "1" });
    expect(ref.pragma("user_version", { simple: true })).toBe(1);
    expect(ref.prepare("SELECT name FROM sqlite_master WHERE name = 'commands_unfinished'").get()).toBeUndefined();
    const before = snapshot(ref);
    ref.close();
    // the fixture holds what it promises
    expect(before.sessions.map((s: any) => [s.session_id, s.version, s.deleted_at !== null])).toEqual([
      ["alpha", 3, false],
      ["beta", 5, false],
      ["scratch", 1, true],
    ]);
    expect(before.commands.filter((c: any) => c.status === "failed")).toHaveLength(1);
    expect(before.idempotency.length).toBeGreaterThanOrEqual(2);

    const store = new SqliteStore({ path: target, durability: "full" });
    const recovered = store.open();
    try {
      expect(recovered.schemaVersion).toBe(LATEST_SCHEMA_VERSION);
      expect(store.stats().schemaVersion).toBe(LATEST_SCHEMA_VERSION);
      expect(recovered.lastSeq).toBe((before.journal.at(-1) as any).seq);
      expect(recovered.sessions.map((s) => [s.sessionId, s.version, s.state])).toEqual(
        before.sessions
          .filter((s: any) => s.deleted_at === null)
          .map((s: any) => [s.session_id, s.version, JSON.parse(s.state)]),
      );
      expect(recovered.unfinished.map((u) => u.commandId)).toEqual(["alpha-pending"]);
      expect(recovered.unfinished[0]).toMatchObject({
        dependsOn: ["alpha-inc-2"],
        ifSessionVersion: 3,
        idempotencyKey: "pending-1",
        idempotencyScope: "session:alpha",
        params: { by: 10 },
        status: "queued",
      });
      // every stored outcome reads back identically through the store
      for (const c of before.commands as any[]) {
        const got = store.getCommand(c.command_id)!;
        expect(got.status).toBe(c.status);
        if (c.outcome === null) expect(got.outcome).toBeUndefined();
        else expect(JSON.stringify(got.outcome)).toBe(c.outcome);
      }
      for (const k of before.idempotency as any[]) {
        expect(store.getIdempotency(k.scope, k.key, Date.UTC(2030, 0, 1))).toEqual({
          commandId: k.command_id,
          fingerprint: k.fingerprint,
        });
      }
      // the migrated store keeps appending where v1 stopped
      const b = new RecordBuilder({ seq: recovered.lastSeq, lanes: recovered.laneSeqs });
      store.commit([
        b.record("started", "alpha-pending", "alpha"),
        b.record("finished", "alpha-pending", "alpha", {
          status: "succeeded",
          outcome: { command: "increment", success: true, sessionVersion: 4 },
          effect: { kind: "write", sessionId: "alpha", state: { count: 13, tags: [] }, version: 4 },
          idempotencyExpiresAt: Date.UTC(2099, 0, 1),
        }),
      ]);
    } finally {
      store.close();
    }

    const after = new Database(target, { readonly: true });
    try {
      expect(after.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get()).toEqual({ value: String(LATEST_SCHEMA_VERSION) });
      expect(after.pragma("user_version", { simple: true })).toBe(LATEST_SCHEMA_VERSION);
      const objects = (after.prepare("SELECT type, name FROM sqlite_master").all() as Array<{ type: string; name: string }>).map(
        (o) => `${o.type}:${o.name}`,
      );
      for (const o of [
        "index:commands_unfinished",
        "index:commands_session",
        "index:journal_command",
        "view:v_command_outcomes",
        "view:v_unfinished",
        "view:v_lane_heads",
        "view:v_live_idempotency_keys",
        "view:v_session_versions",
        "index:commands_accepted",
        "index:commands_accepted_at",
        "index:commands_type",
        "index:commands_status",
        "index:commands_actor",
        "index:commands_lane",
        "table:command_dependencies",
        "table:clock_regressions",
        "index:journal_replay_of",
      ]) {
        expect(objects).toContain(o);
      }
      const idx = after.prepare("SELECT sql FROM sqlite_master WHERE name = 'commands_unfinished'").get() as { sql: string };
      // v5 widened the partial index to the governance statuses
      expect(idx.sql).toMatch(/WHERE status IN \('queued','running','pending','approved'\)/);

      // only the two new journal rows and their materialization differ from v1
      const now = snapshot(after);
      // v5 added columns (journal.revision; commands.revision, pending_reason, …): compare the v1 ones
      const v1Columns = (rows: any[], like: any[]) => rows.map((r) => Object.fromEntries(Object.keys(like[0] ?? r).map((k) => [k, r[k]])));
      now.journal = v1Columns(now.journal, before.journal);
      now.commands = v1Columns(now.commands, before.commands);
      expect(now.journal.slice(0, before.journal.length)).toEqual(before.journal);
      expect(now.journal).toHaveLength(before.journal.length + 2);
      const unchanged = (rows: any[]) => rows.filter((r) => r.command_id !== "alpha-pending" && r.session_id !== "alpha");
      expect(unchanged(now.commands)).toEqual(unchanged(before.commands));
      expect(unchanged(now.idempotency)).toEqual(unchanged(before.idempotency));
      // v6 moved each live session's state into session_states (its checkpoint at its version)
      expect(unchanged(now.sessions)).toEqual(unchanged(before.sessions).map(({ state: _s, ...r }: any) => r));
      const states = after.prepare("SELECT session_id, version, state FROM session_states ORDER BY session_id").all();
      expect(unchanged(states)).toEqual(unchanged(before.sessions.filter((r: any) => r.deleted_at === null)).map((r: any) => ({ session_id: r.session_id, version: r.version, state: r.state })));

      // v3 backfilled command_dependencies from every depends_on of the fixture
      const deps = after
        .prepare("SELECT c.command_id, d.value AS depends_on, c.accepted_seq FROM commands c, json_each(c.depends_on) d ORDER BY 2, 3")
        .all();
      expect(deps.length).toBeGreaterThanOrEqual(2);
      expect(after.prepare("SELECT command_id, depends_on, accepted_seq FROM command_dependencies ORDER BY depends_on, accepted_seq").all()).toEqual(deps);

      // the audit views answer over the migrated data
      const outcomes = after.prepare("SELECT * FROM v_command_outcomes WHERE status = 'failed'").all() as any[];
      expect(outcomes).toEqual([
        expect.objectContaining({ command_id: "alpha-bad", code: "handler_error", error: "handler threw: kaboom", success: 0 }),
      ]);
      expect(after.prepare("SELECT count(*) AS n FROM v_unfinished").get()).toEqual({ n: 0 });
      expect(after.prepare("SELECT lane, last_lane_seq FROM v_lane_heads ORDER BY lane").all()).toEqual(
        (now.lanes as any[]).map((l) => ({ lane: l.lane, last_lane_seq: l.last_lane_seq })),
      );
      expect(
        (after.prepare("SELECT scope, key FROM v_live_idempotency_keys ORDER BY scope, key").all() as any[]).map(
          (r) => `${r.scope}/${r.key}`,
        ),
      ).toEqual(["server/create-alpha", "session:alpha/pending-1", "session:beta/inc-7"]);
      expect(after.prepare("SELECT session_id, version, deleted FROM v_session_versions ORDER BY session_id").all()).toEqual([
        { session_id: "alpha", version: 4, deleted: 0 },
        { session_id: "beta", version: 5, deleted: 0 },
        { session_id: "scratch", version: 1, deleted: 1 },
      ]);
    } finally {
      after.close();
    }
  });

  it("migrates a v2 journal to v3: backfills command_dependencies and clock_regressions; history reads it", () => {
    const path = join(tmp.dir, "v2.db");
    const rb = new RecordBuilder();
    const t0 = Date.UTC(2026, 0, 1);
    const accepted = (id: string, at: number, dependsOn: string[] | null = null) =>
      rb.record("accepted", id, "s", { recordedAt: at, explicitId: true, params: { n: id }, dependsOn, timeoutMs: 1000 });
    // c3's accepted time steps back below c2's (a wall-clock adjustment)
    // a v2 journal: built by the frozen migrations 1 and 2, holding what the store materializes
    expect(writeOldJournal(path, 2, [[accepted("c1", t0), accepted("c2", t0 + 100, ["c1"]), accepted("c3", t0 + 50, ["c1", "c2"]), accepted("c4", t0 + 200, ["c3"])]])).toBe(2);

    const v3 = new SqliteStore({ path, durability: "off" });
    const recovered = v3.open();
    try {
      expect(recovered.schemaVersion).toBe(LATEST_SCHEMA_VERSION);
      const db = v3.database();
      expect(db.prepare("SELECT depends_on, command_id FROM command_dependencies ORDER BY depends_on, accepted_seq").all()).toEqual([
        { depends_on: "c1", command_id: "c2" },
        { depends_on: "c1", command_id: "c3" },
        { depends_on: "c2", command_id: "c3" },
        { depends_on: "c3", command_id: "c4" },
      ]);
      expect(db.prepare("SELECT accepted_seq, accepted_at, previous_max FROM clock_regressions").all()).toEqual([
        { accepted_seq: 3, accepted_at: t0 + 50, previous_max: t0 + 100 },
      ]);
      // new admissions are materialized by the store (c5's accepted time is below c4's)
      const b2 = new RecordBuilder({ seq: recovered.lastSeq, lanes: recovered.laneSeqs });
      v3.commit([b2.record("accepted", "c5", "s", { recordedAt: t0 + 10, explicitId: true, params: {}, dependsOn: ["c1"], timeoutMs: 1000 })]);
      expect(db.prepare("SELECT command_id FROM command_dependencies WHERE depends_on = 'c1' ORDER BY accepted_seq").pluck().all()).toEqual(["c2", "c3", "c5"]);
      expect(db.prepare("SELECT accepted_seq FROM clock_regressions ORDER BY 1").pluck().all()).toEqual([3, 5]);
      // a time window that the step-backs make non-monotone is still answered exactly
      const page = queryHistory(db, { fromTimestamp: t0 + 40, toTimestamp: t0 + 120, order: "oldest", limit: 10 });
      expect(page.items.map((i) => i.commandId)).toEqual(["c2", "c3"]);
    } finally {
      v3.close();
    }
  });

  it("opening an already migrated database is a no-op", () => {
    const path = join(tmp.dir, "twice.db");
    copyFileSync(FIXTURE, path);
    const a = new SqliteStore({ path, durability: "normal" });
    a.open();
    a.close();
    const b = new SqliteStore({ path, durability: "normal" });
    expect(b.open().schemaVersion).toBe(LATEST_SCHEMA_VERSION);
    b.close();
  });

  it("refuses a database with a newer schema version (schema_too_new) and leaves it untouched", () => {
    const path = join(tmp.dir, "future.db");
    const s = new SqliteStore({ path, durability: "normal" });
    s.open();
    s.close();
    const raw = new Database(path);
    raw.prepare("UPDATE meta SET value = '99' WHERE key = 'schema_version'").run();
    raw.pragma("user_version = 99");
    raw.close();

    const newer = new SqliteStore({ path, durability: "normal" });
    let err: unknown;
    try {
      newer.open();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreOpenError);
    expect((err as StoreOpenError).code).toBe("schema_too_new");
    expect((err as Error).message).toBe(
      `database ${path} has schema version 99, this causeway supports up to ${LATEST_SCHEMA_VERSION}; upgrade causeway`,
    );
    const check = new Database(path, { readonly: true });
    expect(check.prepare("SELECT count(*) AS n FROM lease").get()).toEqual({ n: 0 });
    check.close();
    // the refused store is not open
    expect(() => newer.getCommand("x")).toThrow(/not open/);
  });

  it("a meta row alone (user_version untouched) is enough to refuse", () => {
    const path = join(tmp.dir, "meta-only.db");
    const s = new SqliteStore({ path, durability: "normal" });
    s.open();
    s.close();
    const raw = new Database(path);
    const newer = LATEST_SCHEMA_VERSION + 1;
    raw.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(newer));
    raw.close();
    expect(() => new SqliteStore({ path, durability: "normal" }).open()).toThrow(
      expect.objectContaining({ code: "schema_too_new", message: expect.stringContaining(`schema version ${newer}`) }),
    );
  });

  it("an old journal is built by running the frozen migrations up to its version (fixture building)", () => {
    const path = join(tmp.dir, "old.db");
    expect(writeOldJournal(path, 1, [])).toBe(1);
    const s = new SqliteStore({ path, durability: "off" });
    expect(s.open().schemaVersion).toBe(LATEST_SCHEMA_VERSION);
    s.close();
  });
});

describe("#17 migration 7 (projection watermark)", () => {
  it("#17 a v6 journal migrates to v7 without any table, index, view or trigger change; only the version rises", () => {
    const path = join(tmp.dir, "v6.db");
    expect(writeOldJournal(path, 6, [])).toBe(6);
    const schemaOf = (): unknown[] => {
      const db = new Database(path, { readonly: true });
      try {
        return db.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").all();
      } finally {
        db.close();
      }
    };
    const before = schemaOf();
    const s = new SqliteStore({ path, durability: "off" });
    expect(s.open().schemaVersion).toBe(7);
    s.close();
    expect(schemaOf()).toEqual(before);
    // a causeway that knows only v6 refuses the file (the rule it applies: version above its newest)
    const raw = new Database(path, { readonly: true });
    expect(readSchemaVersion(raw)).toBeGreaterThan(6);
    raw.close();
  });
});

describe("#15.5 the causeway application_id", () => {
  it("#15.5 a journal from before the mark (the v1 fixture) opens, migrates and gets PRAGMA application_id; a new journal has it from creation", () => {
    const target = join(tmp.dir, "legacy.db");
    copyFileSync(FIXTURE, target);
    const read = (path: string): number => {
      const db = new Database(path, { readonly: true });
      try {
        return Number(db.pragma("application_id", { simple: true }));
      } finally {
        db.close();
      }
    };
    expect(read(target)).toBe(0);
    const store = new SqliteStore({ path: target, durability: "off" });
    store.open();
    store.close();
    expect(read(target)).toBe(CAUSEWAY_APPLICATION_ID);
    expect(CAUSEWAY_APPLICATION_ID).toBe(0x43574159);

    const fresh = join(tmp.dir, "fresh.db");
    const s = new SqliteStore({ path: fresh, durability: "off" });
    s.open();
    expect(read(fresh)).toBe(CAUSEWAY_APPLICATION_ID);
    s.close();
  });

  it("#15.5 another application's file is refused with not_a_journal and left byte-for-byte unchanged", () => {
    const cases: Array<{ name: string; build: ((db: Database.Database) => void) | null; why: RegExp }> = [
      { name: "tables.db", build: (db) => db.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('ada')"), why: /holds customers and no causeway application_id/ },
      { name: "appid.db", build: (db) => db.exec("PRAGMA application_id = 1179603783; CREATE TABLE journal (x)"), why: /application_id is 0x464f5347, causeway's is 0x43574159/ },
      { name: "version.db", build: (db) => db.exec("PRAGMA user_version = 3"), why: /user_version 3 but no tables/ },
    ];
    const text = join(tmp.dir, "notes.db");
    writeFileSync(text, "not a database, but a long enough text file to fill SQLite's 100-byte header check ".repeat(4));
    for (const c of [...cases, { name: "notes.db", build: null, why: /it is not an SQLite database/ }]) {
      const path = join(tmp.dir, c.name);
      if (c.build) {
        const db = new Database(path);
        c.build(db);
        db.close();
      }
      const before = readFileSync(path);
      const err = (() => {
        try {
          new SqliteStore({ path, durability: "full" }).open();
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err, c.name).toBeInstanceOf(StoreOpenError);
      expect((err as StoreOpenError).code).toBe("not_a_journal");
      expect((err as Error).message).toContain(`${path} is not a causeway journal`);
      expect((err as Error).message).toMatch(c.why);
      expect(readFileSync(path).equals(before), c.name).toBe(true);
      expect(existsSync(`${path}-wal`)).toBe(false);
    }
  });
});
