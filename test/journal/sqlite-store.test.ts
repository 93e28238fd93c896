import { UNFINISHED_SQL_LIST } from "../../src/journal/migrations/index.js";
import { UNFINISHED_COLUMNS } from "../../src/journal/codec.js";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LATEST_SCHEMA_VERSION } from "../../src/journal/migrations/index.js";
import { SqliteStore } from "../../src/journal/sqlite-store.js";
import { openStore } from "../../src/journal/open.js";
import { JournalWriteError, type JournalRecord } from "../../src/journal/types.js";
import { type SessionEffect } from "../../src/lifecycle/status.js";
import { RecordBuilder, dumpTables, openRaw, tempDir } from "./helpers.js";

const ok = (command: string, extra: Record<string, unknown> = {}) => ({ command, success: true, ...extra });
const fail = (command: string, error: string, code = "handler_error") => ({
  command,
  success: false,
  error,
  code: code as "handler_error",
});

let tmp: { dir: string; cleanup: () => void };
const stores: SqliteStore[] = [];
function fileStore(name = "j.db", opts: Partial<ConstructorParameters<typeof SqliteStore>[0]> = {}): SqliteStore {
  const s = new SqliteStore({ path: join(tmp.dir, name), durability: "normal", ...opts });
  stores.push(s);
  return s;
}
function memStore(): SqliteStore {
  const s = new SqliteStore({ path: ":memory:", durability: "off" });
  stores.push(s);
  return s;
}

beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  tmp.cleanup();
});

describe("SqliteStore basics", () => {
  it("reports kind memory for :memory: and sqlite for files, and creates the parent directory", () => {
    const m = memStore();
    expect(m.kind).toBe("memory");
    const r = m.open();
    expect(r).toMatchObject({ sessions: [], laneSeqs: [], lastSeq: 0, unfinished: [], schemaVersion: LATEST_SCHEMA_VERSION });
    expect(m.stats()).toMatchObject({ kind: "memory", path: null, schemaVersion: LATEST_SCHEMA_VERSION });

    const f = fileStore("nested/dir/causeway.db");
    expect(f.kind).toBe("sqlite");
    f.open();
    expect(f.stats()).toMatchObject({ kind: "sqlite", path: join(tmp.dir, "nested/dir/causeway.db") });
    expect(f.readPragma("journal_mode")).toBe("wal");
  });

  it("openStore builds a store from config-like options", () => {
    const s = openStore({ db: ":memory:", durability: "full", faultFailCommit: 0, faultFailCount: 1 });
    expect(s.kind).toBe("memory");
    s.open();
    s.close();
  });

  it.each([
    ["full", 2],
    ["normal", 1],
    ["off", 0],
  ] as const)("durability %s sets PRAGMA synchronous=%i", (durability, expected) => {
    const s = fileStore(`d-${durability}.db`, { durability });
    s.open();
    expect(s.readPragma("synchronous")).toBe(expected);
  });
});

describe("commit: round trip of every phase", () => {
  it("materializes accepted/started/finished/replayed/conflict/requeued", () => {
    const s = memStore();
    s.open();
    const b = new RecordBuilder();
    // server command creating a session, with an idempotency key
    s.commit([
      b.record("accepted", "c1", null, {
        type: "create_session",
        explicitId: true,
        idempotencyKey: "k1",
        idempotencyScope: "server",
        params: { sessionId: "s1" },
        timeoutMs: 5000,
      }),
      b.record("started", "c1", null, { type: "create_session" }),
    ]);
    expect(s.getCommand("c1")).toMatchObject({ status: "running", explicitId: true, idempotencyKey: "k1", acceptedSeq: 1 });
    expect(s.getIdempotency("server", "k1", Number.MAX_SAFE_INTEGER)).toEqual({ commandId: "c1", fingerprint: "fp-c1" });

    const create: SessionEffect = { kind: "create", sessionId: "s1", state: { count: 0 }, version: 1 };
    const fin = b.record("finished", "c1", null, {
      type: "create_session",
      status: "succeeded",
      outcome: ok("create_session", { data: { sessionId: "s1" }, sessionVersion: 1 }),
      effect: create,
      idempotencyExpiresAt: 5_000,
    });
    s.commit([fin]);
    const c1 = s.getCommand("c1")!;
    expect(c1.status).toBe("succeeded");
    expect(c1.outcome).toEqual(ok("create_session", { data: { sessionId: "s1" }, sessionVersion: 1 }));
    expect(c1.finishedAt).toBe(fin.recordedAt);
    expect(s.getIdempotency("server", "k1", 4_999)).toEqual({ commandId: "c1", fingerprint: "fp-c1" });
    expect(s.getIdempotency("server", "k1", 5_000)).toBeUndefined();

    // replayed + conflict: journal rows only
    s.commit([
      b.record("replayed", "c1", null, { type: "create_session", outcome: ok("create_session"), detail: { source: "id" } }),
      b.record("conflict", "c1", null, { type: "create_session", detail: { reason: "fingerprint" } }),
    ]);
    expect(s.getCommand("c1")!.status).toBe("succeeded");

    // session command: accepted -> started -> requeued -> started -> finished (write)
    s.commit([
      b.record("accepted", "c2", "s1", { type: "increment", params: { by: 2 }, dependsOn: ["c1"], ifSessionVersion: 1 }),
      b.record("started", "c2", "s1"),
      b.record("requeued", "c2", "s1", { detail: { reason: "restart" } }),
    ]);
    expect(s.getCommand("c2")!.status).toBe("queued");
    s.commit([
      b.record("started", "c2", "s1"),
      b.record("finished", "c2", "s1", {
        status: "succeeded",
        outcome: ok("increment", { data: { count: 2 }, sessionVersion: 2 }),
        effect: { kind: "write", sessionId: "s1", state: { count: 2 }, version: 2 },
      }),
    ]);
    expect(s.stats()).toMatchObject({ commits: 5, commitFailures: 0, recordsWritten: 10, lastBatchSize: 2 });
    expect(s.getCommand("nope")).toBeUndefined();
  });

  it("reopen recovers sessions, lane heads, lastSeq and unfinished commands in accept order", () => {
    const path = join(tmp.dir, "reopen.db");
    const s = fileStore("reopen.db");
    s.open();
    const b = new RecordBuilder();
    s.commit([
      b.record("accepted", "mk-a", null, { type: "create_session" }),
      b.record("accepted", "mk-b", null, { type: "create_session" }),
      b.record("finished", "mk-a", null, {
        status: "succeeded",
        outcome: ok("create_session"),
        effect: { kind: "create", sessionId: "a", state: { n: 1 }, version: 1 },
      }),
      b.record("finished", "mk-b", null, {
        status: "succeeded",
        outcome: ok("create_session"),
        effect: { kind: "create", sessionId: "b", state: { n: 10 }, version: 1 },
      }),
    ]);
    s.commit([
      b.record("accepted", "w1", "a", { params: { x: 1 }, dependsOn: ["mk-a"], ifSessionVersion: 1, timeoutMs: 100 }),
      b.record("accepted", "w2", "b", { idempotencyKey: "kk", idempotencyScope: "session:b" }),
      b.record("accepted", "w3", "a"),
      b.record("started", "w1", "a"),
      b.record("accepted", "del", null, { type: "delete_session" }),
      b.record("finished", "del", null, {
        status: "succeeded",
        outcome: ok("delete_session"),
        effect: { kind: "delete", sessionId: "b" },
      }),
    ]);
    s.close();

    const again = new SqliteStore({ path, durability: "full" });
    stores.push(again);
    const r = again.open();
    expect(r.lastSeq).toBe(10);
    expect(r.sessions).toEqual([{ sessionId: "a", state: { n: 1 }, version: 1, createdAt: expect.any(Number) }]);
    expect(r.laneSeqs).toEqual([
      { lane: "server", laneSeq: 6 },
      { lane: "session:a", laneSeq: 3 },
      { lane: "session:b", laneSeq: 1 },
    ]);
    expect(r.unfinished.map((u) => [u.commandId, u.status, u.acceptedSeq])).toEqual([
      ["w1", "running", 5],
      ["w2", "queued", 6],
      ["w3", "queued", 7],
    ]);
    expect(r.unfinished[0]).toEqual({
      commandId: "w1",
      lane: "session:a",
      sessionId: "a",
      type: "test",
      actor: "tester",
      fingerprint: "fp-w1",
      explicitId: false,
      idempotencyKey: null,
      idempotencyScope: null,
      dependsOn: ["mk-a"],
      ifSessionVersion: 1,
      params: { x: 1 },
      timeoutMs: 100,
      acceptedAt: expect.any(Number),
      acceptedSeq: 5,
      status: "running",
      // its started rows (#15.19: recovery attempts of retryable commands)
      starts: 1,
      // schema v5: accepted (0), started (1)
      revision: 1,
      pendingReason: null,
      governance: null,
      tags: [],
      notBefore: null,
      queuedAt: expect.any(Number),
    });
    expect(r.unfinished[1]).toMatchObject({ idempotencyKey: "kk", idempotencyScope: "session:b" });
    // the next commit continues the numbering
    const b2 = new RecordBuilder({ seq: r.lastSeq, lanes: r.laneSeqs });
    again.commit([b2.record("finished", "w3", "a", { status: "interrupted", outcome: fail("test", "x", "interrupted") })]);
    expect(again.getCommand("w3")!.status).toBe("interrupted");
  });

  it("recovery reads unfinished commands through the partial index and lastSeq through the primary key", () => {
    const s = fileStore("plan.db");
    s.open();
    s.close();
    const db = openRaw(join(tmp.dir, "plan.db"));
    const plan = (sql: string) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>).map((r) => r.detail).join("; ");
    expect(plan(`SELECT * FROM commands WHERE status IN (${UNFINISHED_SQL_LIST}) ORDER BY accepted_seq`)).toContain(
      "commands_unfinished",
    );
    expect(plan("SELECT coalesce(max(seq), 0) FROM journal")).not.toMatch(/SCAN journal$/);
    // #15.19: the started rows of a running command are counted through journal_command
    expect(plan(`SELECT ${UNFINISHED_COLUMNS} FROM commands WHERE status IN (${UNFINISHED_SQL_LIST}) ORDER BY accepted_seq`)).toContain(
      "SEARCH j USING INDEX journal_command",
    );
    db.close();
  });
});

describe("commit: invariants roll the whole batch back", () => {
  function setup() {
    const s = memStore();
    s.open();
    const b = new RecordBuilder();
    s.commit([b.record("accepted", "c1", null), b.record("finished", "c1", null, { status: "failed", outcome: fail("test", "boom") })]);
    return { s, b };
  }

  it("a second finished throws and leaves the first outcome", () => {
    const { s, b } = setup();
    const batch = [
      b.record("accepted", "c2", null),
      b.record("finished", "c1", null, { status: "succeeded", outcome: ok("test") }),
    ];
    expect(() => s.commit(batch)).toThrow(JournalWriteError);
    expect(() => s.commit(batch)).toThrow(/already has a terminal outcome/);
    expect(s.getCommand("c1")).toMatchObject({ status: "failed", outcome: fail("test", "boom") });
    expect(s.getCommand("c2")).toBeUndefined(); // nothing of the batch is visible
    b.rewind(batch);
    s.commit([b.record("accepted", "c2", null)]); // and the store is still usable
    expect(s.getCommand("c2")!.acceptedSeq).toBe(3);
  });

  it("a lane_seq gap throws", () => {
    const { s, b } = setup();
    const r = b.record("accepted", "c2", null);
    expect(() => s.commit([{ ...r, laneSeq: r.laneSeq + 1 }])).toThrow(/lane_seq must be gap-free/);
    expect(() => s.commit([{ ...r, laneSeq: r.laneSeq - 1 }])).toThrow(JournalWriteError);
    s.commit([r]);
  });

  it("a seq gap throws", () => {
    const { s, b } = setup();
    const r = b.record("accepted", "c2", null);
    expect(() => s.commit([{ ...r, seq: r.seq + 1 }])).toThrow(/seq must be gap-free/);
    expect(() => s.commit([{ ...r, seq: r.seq - 1 }])).toThrow(JournalWriteError);
    s.commit([r]);
    expect(s.stats().commitFailures).toBe(2);
  });

  it("rejects duplicate command ids, unknown commands and bad session effects", () => {
    const { s, b } = setup();
    const tryBatch = (recs: JournalRecord[], re: RegExp) => {
      expect(() => s.commit(recs)).toThrow(re);
      b.rewind(recs);
    };
    tryBatch([b.record("accepted", "c1", null)], /UNIQUE constraint failed: commands.command_id/);
    tryBatch([b.record("started", "ghost", null)], /unknown command ghost/);
    tryBatch([b.record("finished", "ghost", null, { status: "failed", outcome: fail("t", "x") })], /unknown command ghost/);
    tryBatch(
      [b.record("accepted", "c3", null), b.record("finished", "c3", null, { status: "queued", outcome: ok("t") })],
      /terminal status/,
    );
    tryBatch(
      [
        b.record("accepted", "c3", "nosuch"),
        b.record("finished", "c3", "nosuch", {
          status: "succeeded",
          outcome: ok("t"),
          effect: { kind: "write", sessionId: "nosuch", state: {}, version: 2 },
        }),
      ],
      /session nosuch does not exist/,
    );
    expect(s.stats().commits).toBe(1);
  });

  it("an idempotency key is held while in flight and until it expires, then can be re-claimed", () => {
    const s = memStore();
    s.open();
    const b = new RecordBuilder();
    const key = { idempotencyKey: "k", idempotencyScope: "session:s" };
    s.commit([b.record("accepted", "a", "s", key)]);
    // in flight: never expires
    expect(s.getIdempotency("session:s", "k", Number.MAX_SAFE_INTEGER)?.commandId).toBe("a");
    const dup = [b.record("accepted", "b", "s", key)];
    expect(() => s.commit(dup)).toThrow(/still held/);
    b.rewind(dup);
    const expiresAt = b.clock + 100;
    s.commit([b.record("finished", "a", "s", { status: "succeeded", outcome: ok("t"), idempotencyExpiresAt: expiresAt })]);
    expect(s.getIdempotency("session:s", "k", expiresAt - 1)?.commandId).toBe("a");
    expect(s.getIdempotency("session:s", "k", expiresAt)).toBeUndefined();
    expect(s.getIdempotency("other", "k", 0)).toBeUndefined();
    // not yet expired at the accept time: refused
    const early = [b.record("accepted", "b", "s", key)];
    expect(() => s.commit(early)).toThrow(/still held/);
    b.rewind(early);
    // expired at the accept time: replaced
    b.clock += 1000;
    s.commit([b.record("accepted", "b", "s", key)]);
    expect(s.getIdempotency("session:s", "k", 0)).toEqual({ commandId: "b", fingerprint: "fp-b" });
  });
});

describe("fault injection", () => {
  it("fails commit #N inside the transaction; nothing is visible; the same numbers commit next", () => {
    const s = fileStore("fault.db", { faultFailCommit: 2, faultFailCount: 2 });
    s.open();
    const b = new RecordBuilder();
    s.commit([b.record("accepted", "c1", null)]);
    const batch = [
      b.record("finished", "c1", null, {
        status: "succeeded",
        outcome: ok("t"),
        effect: { kind: "create", sessionId: "x", state: {}, version: 1 },
      }),
      b.record("accepted", "c2", "x"),
    ];
    let err: unknown;
    try {
      s.commit(batch);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JournalWriteError);
    expect((err as Error).message).toBe("journal commit failed: disk I/O error (injected fault, commit #2)");
    expect((err as JournalWriteError).code).toBe("journal_unavailable");
    // the cause is better-sqlite3's own error type with a real SQLite code
    expect((err as JournalWriteError).cause).toMatchObject({ name: "SqliteError", code: "SQLITE_IOERR" });
    expect(() => s.commit(batch)).toThrow("journal commit failed: disk I/O error (injected fault, commit #3)");
    const raw = openRaw(join(tmp.dir, "fault.db"));
    expect(raw.prepare("SELECT count(*) AS n FROM journal").get()).toEqual({ n: 1 });
    expect(raw.prepare("SELECT count(*) AS n FROM sessions").get()).toEqual({ n: 0 });
    expect(raw.prepare("SELECT last_lane_seq FROM lanes").all()).toEqual([{ last_lane_seq: 1 }]);
    expect(s.getCommand("c1")!.status).toBe("queued");
    expect(s.getCommand("c2")).toBeUndefined();
    s.commit(batch); // commit #4: same seq / lane_seq numbers
    expect(s.getCommand("c1")!.status).toBe("succeeded");
    expect(raw.prepare("SELECT count(*) AS n FROM journal").get()).toEqual({ n: 3 });
    raw.close();
    expect(s.stats()).toMatchObject({ commits: 2, commitFailures: 2 });
  });

  it("faultKind full raises SQLITE_FULL (disk full)", () => {
    const s = fileStore("fault-full.db", { faultFailCommit: 1, faultKind: "full" });
    s.open();
    const b = new RecordBuilder();
    let err: unknown;
    try {
      s.commit([b.record("accepted", "c1", null)]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JournalWriteError);
    expect((err as JournalWriteError).cause).toMatchObject({ name: "SqliteError", code: "SQLITE_FULL" });
    expect((err as Error).message).toMatch(/database or disk is full/);
    expect(s.getCommand("c1")).toBeUndefined();
  });
});

describe("property: batch boundaries do not matter", () => {
  interface Op {
    kind: "accept" | "start" | "finish" | "requeue" | "create" | "delete";
    session: number;
    pick: number;
    success: boolean;
    key: boolean;
  }
  const opArb: fc.Arbitrary<Op> = fc.record({
    kind: fc.constantFrom("accept", "accept", "start", "finish", "finish", "requeue", "create", "delete"),
    session: fc.integer({ min: 0, max: 2 }),
    pick: fc.nat(),
    success: fc.boolean(),
    key: fc.boolean(),
  });

  /** Interpret random ops as a valid record sequence (a small model of the engine). */
  function buildRecords(ops: Op[]): JournalRecord[] {
    const b = new RecordBuilder();
    const out: JournalRecord[] = [];
    const sessions = new Map<string, { version: number; live: boolean }>();
    const cmds: Array<{ id: string; session: string | null; status: "queued" | "running" }> = [];
    let n = 0;
    let keyN = 0;
    for (const op of ops) {
      const sid = `s${op.session}`;
      if (op.kind === "create" || op.kind === "delete") {
        const id = `srv${n++}`;
        const live = sessions.get(sid)?.live ?? false;
        out.push(b.record("accepted", id, null, { type: op.kind }));
        const doIt = op.kind === "create" ? !live : live;
        const effect: SessionEffect | undefined = !doIt
          ? undefined
          : op.kind === "create"
            ? { kind: "create", sessionId: sid, state: { n: 0, by: id }, version: 1 }
            : { kind: "delete", sessionId: sid };
        out.push(
          b.record("finished", id, null, {
            type: op.kind,
            status: doIt ? "succeeded" : "failed",
            outcome: doIt ? ok(op.kind) : fail(op.kind, "nope", "session_not_found"),
            ...(effect ? { effect } : {}),
          }),
        );
        if (doIt) sessions.set(sid, { version: 1, live: op.kind === "create" });
      } else if (op.kind === "accept") {
        const id = `c${n++}`;
        const k = op.key ? { idempotencyKey: `key${keyN++}`, idempotencyScope: `session:${sid}` } : {};
        out.push(b.record("accepted", id, sid, { params: { i: n, s: sid }, dependsOn: n > 1 ? [`c${n - 2}`] : null, ...k }));
        cmds.push({ id, session: sid, status: "queued" });
      } else if (cmds.length > 0) {
        const idx = op.pick % cmds.length;
        const c = cmds[idx]!;
        if (op.kind === "start" && c.status === "queued") {
          out.push(b.record("started", c.id, c.session));
          c.status = "running";
        } else if (op.kind === "requeue") {
          out.push(b.record("requeued", c.id, c.session, { detail: { reason: "test" } }));
          c.status = "queued";
        } else if (op.kind === "finish") {
          const sess = sessions.get(c.session!);
          const write = op.success && sess?.live;
          let effect: SessionEffect | undefined;
          if (write) {
            sess!.version += 1;
            effect = { kind: "write", sessionId: c.session!, state: { n: sess!.version, last: c.id }, version: sess!.version };
          }
          out.push(
            b.record("finished", c.id, c.session, {
              status: write ? "succeeded" : "failed",
              outcome: write ? ok("t", { sessionVersion: sess!.version }) : fail("t", "no session", "session_not_found"),
              idempotencyExpiresAt: b.clock + 10_000,
              ...(effect ? { effect } : {}),
            }),
          );
          cmds.splice(idx, 1);
        }
      }
    }
    return out;
  }

  it("random batch splits give the same final tables as one-by-one commits", () => {
    const seed = Number(process.env.FC_SEED ?? Date.now());
    console.log("fast-check seed", seed);
    let run = 0;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1 }), (ops, cuts) => {
        const records = buildRecords(ops);
        run++;
        const one = new SqliteStore({ path: join(tmp.dir, `one-${run}.db`), durability: "off" });
        const many = new SqliteStore({ path: join(tmp.dir, `many-${run}.db`), durability: "off" });
        one.open();
        many.open();
        try {
          for (const r of records) one.commit([r]);
          let i = 0;
          let c = 0;
          while (i < records.length) {
            const size = cuts[c++ % cuts.length]!;
            many.commit(records.slice(i, i + size));
            i += size;
          }
        } finally {
          one.close();
          many.close();
        }
        const a = openRaw(join(tmp.dir, `one-${run}.db`));
        const m = openRaw(join(tmp.dir, `many-${run}.db`));
        try {
          expect(dumpTables(m)).toEqual(dumpTables(a));
          expect((dumpTables(a).journal as unknown[]).length).toBe(records.length);
        } finally {
          a.close();
          m.close();
        }
      }),
      { seed, numRuns: 60 },
    );
  });
});

describe("more invariants", () => {
  it("started twice, session versions that do not increase, and re-creating a live session throw", () => {
    const s = memStore();
    s.open();
    const b = new RecordBuilder();
    const tryBatch = (recs: JournalRecord[], re: RegExp) => {
      expect(() => s.commit(recs)).toThrow(re);
      b.rewind(recs);
    };
    s.commit([
      b.record("accepted", "mk", null),
      b.record("finished", "mk", null, {
        status: "succeeded",
        outcome: ok("t"),
        effect: { kind: "create", sessionId: "s", state: { v: 1 }, version: 1 },
      }),
      b.record("accepted", "w", "s"),
      b.record("started", "w", "s"),
    ]);
    tryBatch([b.record("started", "w", "s")], /command w is running at revision 1: running → running/);
    tryBatch(
      [b.record("finished", "w", "s", { status: "succeeded", outcome: ok("t"), effect: { kind: "write", sessionId: "s", state: {}, version: 1 } })],
      /session s is at version 1, not below 1/,
    );
    tryBatch(
      [
        b.record("accepted", "mk2", null),
        b.record("finished", "mk2", null, {
          status: "succeeded",
          outcome: ok("t"),
          effect: { kind: "create", sessionId: "s", state: {}, version: 1 },
        }),
      ],
      /session s already exists/,
    );
    // delete, then create again replaces the deleted row
    s.commit([
      b.record("finished", "w", "s", { status: "succeeded", outcome: ok("t"), effect: { kind: "delete", sessionId: "s" } }),
      b.record("accepted", "mk3", null),
      b.record("finished", "mk3", null, {
        status: "succeeded",
        outcome: ok("t"),
        effect: { kind: "create", sessionId: "s", state: { again: true }, version: 1 },
      }),
    ]);
    tryBatch(
      [
        b.record("accepted", "del2", null),
        b.record("finished", "del2", null, { status: "succeeded", outcome: ok("t"), effect: { kind: "delete", sessionId: "zzz" } }),
      ],
      /session zzz does not exist/,
    );
  });

  it("the database itself refuses journal updates/deletes and outcome overwrites", () => {
    const path = join(tmp.dir, "triggers.db");
    const s = fileStore("triggers.db");
    s.open();
    const b = new RecordBuilder();
    s.commit([b.record("accepted", "c", null), b.record("finished", "c", null, { status: "failed", outcome: fail("t", "x") })]);
    s.close();
    const raw = openRaw(path, false);
    expect(() => raw.prepare("UPDATE journal SET actor = 'x'").run()).toThrow(/append-only/);
    expect(() => raw.prepare("DELETE FROM journal").run()).toThrow(/append-only/);
    expect(() => raw.prepare("UPDATE commands SET outcome = '{}' WHERE command_id = 'c'").run()).toThrow(
      /written once and never overwritten/,
    );
    expect(() => raw.prepare("UPDATE commands SET status = 'queued', outcome = NULL").run()).toThrow(/never overwritten/);
    raw.close();
  });

  it("commit after close throws JournalWriteError; close is idempotent", () => {
    const s = memStore();
    s.open();
    s.close();
    s.close();
    const b = new RecordBuilder();
    expect(() => s.commit([b.record("accepted", "c", null)])).toThrow(JournalWriteError);
  });

  it("journal.effect embeds the state exactly as sessions.state stores it", () => {
    const path = join(tmp.dir, "big.db");
    const s = fileStore("big.db");
    s.open();
    const b = new RecordBuilder();
    const state = { items: Array.from({ length: 500 }, (_, i) => ({ i, name: `item-${i}`, nested: { ok: i % 2 === 0 } })) };
    const effect: SessionEffect = { kind: "create", sessionId: "big", state, version: 1 };
    s.commit([
      b.record("accepted", "mk", null),
      b.record("finished", "mk", null, { status: "succeeded", outcome: ok("t"), effect }),
    ]);
    s.close();
    const again = fileStore("big.db");
    expect(again.open().sessions).toEqual([{ sessionId: "big", state, version: 1, createdAt: expect.any(Number) }]);
    const raw = openRaw(path);
    expect(raw.prepare("SELECT effect FROM journal WHERE phase = 'finished'").get()).toEqual({ effect: JSON.stringify(effect) });
    raw.close();
  });
});
