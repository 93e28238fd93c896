/**
 * Issue #4.7: retention and compaction never break replay of retained outcomes, live idempotency
 * keys, in-flight commands, lane sequence continuity, or the state the audit starts from.
 */
import { sessionRows } from "../helpers/session-rows.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildCheckpoint, clampCut, compact, firstRetainedSeq, latestCheckpoint, planCut, DEFAULT_RETENTION } from "../../src/journal/retention.js";
import { barrierCommands } from "../helpers/barrier.js";
import { startInProc, type InProc } from "../helpers/inproc.js";
import { SqliteStore } from "../../src/journal/sqlite-store.js";
import { RecordBuilder } from "./helpers.js";
import type { JournalRecord } from "../../src/journal/types.js";

let server: InProc | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

type Row = Record<string, any>;

async function fill(count: number) {
  const { commands, release } = barrierCommands();
  const db = join(mkdtempSync(join(tmpdir(), "causeway-ret-")), "journal.db");
  server = startInProc({ config: { db, durability: "off" }, commands });
  const c = server.connect();
  for (const s of ["a", "b", "c"]) await c.request({ type: "create_session", id: `create-${s}`, sessionId: s });
  const pending: Array<Promise<Row>> = [];
  for (let i = 0; i < count; i++) {
    const sid = ["a", "b", "c"][i % 3]!;
    const cmd: Row = { type: "set", id: `w${i}`, sessionId: sid, path: `/k${i % 7}`, value: i };
    if (i % 50 === 0) cmd.idempotencyKey = `key-${i}`;
    pending.push(c.request(cmd));
    if (pending.length >= 256) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  return { c, release, db: server.store.database() };
}

describe("compaction", () => {
  it("never cuts into a command that is pending (scheduled or awaiting approval): its rows are live", async () => {
    const { commands } = barrierCommands();
    const db = join(mkdtempSync(join(tmpdir(), "causeway-ret-")), "journal.db");
    server = startInProc({ config: { db, durability: "off" }, commands });
    const c = server.connect();
    await c.request({ type: "create_session", id: "create-p", sessionId: "p" });
    // scheduled an hour ahead: pending with reason "schedule", accepted early in the journal
    c.raw({ type: "set", id: "later", sessionId: "p", path: "/later", value: 1, notBefore: Date.now() + 3_600_000 });
    await c.waitFor((f) => f.type === "command_pending" && f.data.commandId === "later");
    for (let i = 0; i < 300; i++) await c.request({ type: "set", id: `after${i}`, sessionId: "p", path: "/n", value: i });
    const sql = server.store.database();
    const accepted = (sql.prepare("SELECT accepted_seq FROM commands WHERE command_id = 'later'").get() as Row).accepted_seq as number;
    expect((sql.prepare("SELECT status FROM commands WHERE command_id = 'later'").get() as Row).status).toBe("pending");
    const cut = planCut(sql, { ...DEFAULT_RETENTION, maxCommands: 10 }, Date.now());
    expect(cut).toBeLessThan(accepted);
    await compact(sql, cut, 1_000, Date.now);
    expect(sql.prepare("SELECT phase FROM journal WHERE command_id = 'later' ORDER BY seq").all().map((r) => (r as Row).phase)).toEqual(["accepted", "pending"]);
  });

  it("removes a prefix, keeps live keys' outcomes and in-flight commands, and checkpoints state and lane heads", async () => {
    const { c, release, db } = await fill(3_000);
    // an in-flight command in the middle of history: its rows must survive
    const held = c.request({ type: "hold", id: "held", sessionId: "c", key: "k" });
    await c.waitFor((f) => f.type === "command_started" && f.data.commandId === "held");
    for (let i = 3_000; i < 3_600; i++) await c.request({ type: "set", id: `w${i}`, sessionId: ["a", "b"][i % 2]!, path: "/late", value: i });

    const before = {
      sessions: sessionRows(db).map((r) => ({ session_id: r.session_id, state: r.state, version: r.version })),
      lanes: db.prepare("SELECT lane, last_lane_seq FROM lanes ORDER BY lane").all(),
      lastSeq: (db.prepare("SELECT max(seq) AS s FROM journal").get() as Row).s as number,
      heldAccepted: (db.prepare("SELECT accepted_seq FROM commands WHERE command_id = 'held'").get() as Row).accepted_seq as number,
    };
    const cut = planCut(db, { ...DEFAULT_RETENTION, maxCommands: 100 }, Date.now());
    expect(cut).toBe(before.heldAccepted - 1); // clamped below the running command
    const report = await compact(db, cut, 1_000, Date.now);
    expect(report.batches).toBeGreaterThan(3);
    expect(firstRetainedSeq(db)).toBe(cut + 1);
    expect((db.prepare("SELECT min(seq) AS s FROM journal").get() as Row).s).toBe(cut + 1);

    // lane heads and session state untouched; the checkpoint matches the journal as of the cut
    expect(db.prepare("SELECT lane, last_lane_seq FROM lanes ORDER BY lane").all()).toEqual(before.lanes);
    expect(sessionRows(db).map((r) => ({ session_id: r.session_id, state: r.state, version: r.version }))).toEqual(before.sessions);
    const cp = latestCheckpoint(db)!;
    expect(cp.seq).toBe(cut);
    for (const [lane, laneSeq] of Object.entries(cp.lanes)) {
      const next = db.prepare("SELECT min(lane_seq) AS s FROM journal WHERE lane = ?").get(lane) as Row;
      if (next.s !== null) expect(next.s).toBe(laneSeq + 1);
    }

    // commands with live idempotency keys keep their outcome; others from before the cut are gone
    expect(await c.request({ type: "set", id: "again-0", sessionId: "a", path: "/k0", value: 0, idempotencyKey: "key-0" })).toMatchObject({ replayed: true, sessionVersion: 1 });
    expect(db.prepare("SELECT count(*) AS n FROM commands WHERE command_id = 'w1'").get()).toEqual({ n: 0 });
    // retained commands replay by id
    expect(await c.request({ type: "set", id: "w3599", sessionId: "b", path: "/late", value: 3599 })).toMatchObject({ replayed: true });

    // the in-flight command finishes normally; lanes continue gap-free
    release("k");
    expect(await held).toMatchObject({ success: true });
    const after = await c.request({ type: "set", id: "post", sessionId: "c", path: "/post", value: true });
    expect(after.success).toBe(true);
    const lane = db.prepare("SELECT lane_seq FROM journal WHERE lane = 'session:c' ORDER BY seq").all().map((r) => (r as Row).lane_seq as number);
    for (let i = 1; i < lane.length; i++) expect(lane[i]).toBe(lane[i - 1]! + 1);

    // a second compaction after the command finished can move the cut past it (keeping only the
    // newest command: with 100 kept, the long-running command would still straddle the cut)
    const cut2 = planCut(db, { ...DEFAULT_RETENTION, maxCommands: 1 }, Date.now());
    expect(cut2).toBeGreaterThan(cut);
    await compact(db, cut2, 1_000, Date.now);
    const cp2 = latestCheckpoint(db)!;
    // the checkpoint state of each session equals replaying effects up to the cut
    const fresh = buildCheckpoint(db, cp2.seq, 0);
    expect(fresh.sessions).toEqual(cp2.sessions);
  });

  it("plans the cut by age and by size too", async () => {
    const { db } = await fill(600);
    const lastSeq = (db.prepare("SELECT max(seq) AS s FROM journal").get() as Row).s as number;
    // by age: everything recorded before "now + 1 h" is older than 1 ms → the whole journal
    expect(planCut(db, { ...DEFAULT_RETENTION, maxAgeMs: 1 }, Date.now() + 3_600_000)).toBe(lastSeq);
    // nothing is old enough yet
    expect(planCut(db, { ...DEFAULT_RETENTION, maxAgeMs: 3_600_000 }, Date.now())).toBe(0);
    // by size: a budget below the current size asks for a prefix, above it for nothing
    const bytes = (db.pragma("page_count", { simple: true }) as number) * (db.pragma("page_size", { simple: true }) as number);
    const half = planCut(db, { ...DEFAULT_RETENTION, maxBytes: Math.floor(bytes / 2) }, Date.now());
    expect(half).toBeGreaterThan(0);
    expect(half).toBeLessThan(lastSeq);
    expect(planCut(db, { ...DEFAULT_RETENTION, maxBytes: bytes * 4 }, Date.now())).toBe(0);
  });

  it("refuses ad-hoc deletes outside compaction", async () => {
    const { db } = await fill(10);
    expect(() => db.prepare("DELETE FROM journal WHERE seq = 1").run()).toThrow(/append-only/);
  });

  it("never cuts into an unfinished command or splits one", async () => {
    const { c, release, db } = await fill(30);
    const held = c.request({ type: "hold", id: "h2", sessionId: "a", key: "k2" });
    await c.waitFor((f) => f.type === "command_started" && f.data.commandId === "h2");
    const acc = (db.prepare("SELECT accepted_seq FROM commands WHERE command_id = 'h2'").get() as Row).accepted_seq as number;
    expect(clampCut(db, 1_000_000)).toBe(acc - 1);
    release("k2");
    await held;
  });
});

describe("a fully compacted journal", () => {
  it("#18.21 reopens at its last seq (the checkpoint's), never at 1: the next record continues after the cut", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "causeway-ret-")), "journal.db");
    const b = new RecordBuilder();
    let store = new SqliteStore({ path, durability: "off" });
    store.open();
    store.commit([b.record("accepted", "x", null), b.record("started", "x", null, { status: "running", revision: 1 }), b.record("finished", "x", null, { status: "succeeded", revision: 2, outcome: { command: "test", success: true } })]);
    expect(await store.compact({ ...DEFAULT_RETENTION, maxCommands: 0 }, () => b.clock + 1)).toMatchObject({ checkpointSeq: 3, removedRows: 3 });
    store.close();
    store = new SqliteStore({ path, durability: "off" });
    expect(store.open()).toMatchObject({ lastSeq: 3, laneSeqs: [{ lane: "server", laneSeq: 3 }] });
    store.commit([b.record("accepted", "y", null)]);
    expect(store.readJournal({ limit: 10 }).map((r) => r.seq)).toEqual([4]);
    store.close();
  });
});

describe("a command longer than a batch", () => {
  it("#18.29 is taken whole in one larger batch: compaction never stalls behind it", async () => {
    const store = new SqliteStore({ path: ":memory:", durability: "off" });
    store.open();
    const b = new RecordBuilder();
    const ok = { command: "test", success: true };
    const short = (id: string): JournalRecord[] => [b.record("accepted", id, "a"), b.record("started", id, "a", { status: "running", revision: 1 }), b.record("finished", id, "a", { status: "succeeded", revision: 2, outcome: ok })];
    // "long" is accepted first (seq 1) and finishes after ten short commands (seq 33); then three more
    store.commit([b.record("accepted", "long", null), b.record("started", "long", null, { status: "running", revision: 1 })]);
    for (let i = 0; i < 10; i++) store.commit(short(`s${i}`));
    store.commit([b.record("finished", "long", null, { status: "succeeded", revision: 2, outcome: ok })]);
    for (let i = 10; i < 13; i++) store.commit(short(`s${i}`));
    // batches of 4 rows: the first reaches long's end (33 rows), the second the cut below s11 (seq 37)
    const report = await store.compact({ ...DEFAULT_RETENTION, maxCommands: 2, batchRows: 4 }, () => b.clock + 1);
    expect(report).toEqual({ cut: 36, removedRows: 36, removedCommands: 12, batches: 2, checkpointSeq: 36 });
    expect(store.firstRetainedSeq()).toBe(37);
    store.close();
  });
});
