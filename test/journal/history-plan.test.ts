/**
 * get_command_history at scale: a 50,000-command journal (committed through SqliteStore.commit in
 * big batches, durability "off"). Every supported filter combination must be answered by an index
 * range read (EXPLAIN QUERY PLAN: SEARCH ... USING INDEX, never SCAN, never a temp B-tree sort),
 * and paging through every page must return each matching command exactly once, in order, while
 * new commands are committed between pages.
 */
import { UNFINISHED_SQL_LIST } from "../../src/journal/migrations/index.js";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DETAIL_SQL,
  TIME_BOUND_SQL,
  buildHistorySql,
  queryHistory,
  type HistoryFilters,
  type HistoryItem,
  type HistoryOrder,
  type HistoryStatus,
} from "../../src/journal/queries.js";
import { SqliteStore } from "../../src/journal/sqlite-store.js";
import type { JournalRecord } from "../../src/journal/types.js";
import type { CommandStatus } from "../../src/lifecycle/status.js";
import { RecordBuilder, tempDir } from "./helpers.js";
import { lifecycle } from "./history-helpers.js";

const COMMANDS = 50_000;
const SESSIONS = 200;
const TYPES = ["set", "patch", "get_state", "increment", "create_session"];
const ACTORS = ["local", "alice", "bob"];
const STATUSES: CommandStatus[] = ["succeeded", "succeeded", "succeeded", "succeeded", "failed", "timed_out", "interrupted"];
const T0 = 1_800_000_000_000;

interface Row {
  id: string;
  seq: number;
  sessionId: string | null;
  lane: string;
  type: string;
  actor: string;
  status: CommandStatus;
  at: number;
}

let tmp: { dir: string; cleanup: () => void };
let store: SqliteStore;
let b: RecordBuilder;
let db: Database.Database;
const rows: Row[] = [];
let n = 0;

/** A deterministic command; a few have their clock stepped back by up to 5 s. */
function makeCommand(i: number, status?: CommandStatus): { row: Omit<Row, "seq">; records: JournalRecord[] } {
  const server = i % 10 === 9;
  const sessionId = server ? null : `s${(i * 7919) % SESSIONS}`;
  const type = server ? "create_session" : TYPES[i % 4]!;
  const actor = ACTORS[(i >> 2) % ACTORS.length]!;
  const st = status ?? STATUSES[(i * 31) % STATUSES.length]!;
  const at = T0 + i * 10 - (i % 997 === 500 ? 5_000 : 0);
  const id = `cmd-${String(i).padStart(7, "0")}`;
  const records = lifecycle(b, { id, sessionId, type, actor, status: st, at, dependsOn: i % 50 === 1 && i > 1 ? [`cmd-${String(i - 1).padStart(7, "0")}`] : undefined });
  return { row: { id, sessionId, lane: sessionId ? `session:${sessionId}` : "server", type, actor, status: st, at }, records };
}

/** Commit `count` new commands in one batch and record them in the model. */
function add(count: number, status?: CommandStatus): void {
  const batch: JournalRecord[] = [];
  const made: Array<Omit<Row, "seq">> = [];
  for (let k = 0; k < count; k++) {
    const { row, records } = makeCommand(n++, status);
    batch.push(...records);
    made.push(row);
  }
  store.commit(batch);
  for (const r of made) rows.push({ ...r, seq: store.getCommand(r.id)!.acceptedSeq });
}

beforeAll(() => {
  tmp = tempDir();
  store = new SqliteStore({ path: join(tmp.dir, "history.db"), durability: "off" });
  store.open();
  b = new RecordBuilder();
  db = store.database();
  for (let done = 0; done < COMMANDS; done += 5_000) add(5_000);
  // a few unfinished commands at the end
  add(20, "queued");
  add(20, "running");
}, 120_000);

afterAll(() => {
  store?.close();
  tmp?.cleanup();
});

function plan(sql: string, params: unknown): string[] {
  const args = Array.isArray(params) ? params : [params];
  return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>).map((r) => r.detail);
}

function expectIndexed(lines: string[], what: string): void {
  expect(lines.length, what).toBeGreaterThan(0);
  for (const l of lines) {
    expect(l, `${what}: ${lines.join(" | ")}`).not.toMatch(/^SCAN\b/);
    expect(l, `${what}: ${lines.join(" | ")}`).not.toMatch(/TEMP B-TREE/);
  }
  expect(
    lines.some((l) => /^SEARCH \w+ USING (INDEX|COVERING INDEX|PRIMARY KEY|INTEGER PRIMARY KEY)\b/.test(l)),
    `${what}: ${lines.join(" | ")}`,
  ).toBe(true);
}

const sample = (): Row => rows[12_345]!;

/** Every filter combination: 5 equality filters × status (none / finished / unfinished / reserved) × time (none / from / to / both). */
function combinations(): HistoryFilters[] {
  const r = sample();
  const out: HistoryFilters[] = [];
  for (let mask = 0; mask < 32; mask++) {
    for (const status of [undefined, "failed", "queued", "running", "pending"] as Array<HistoryStatus | undefined>) {
      for (const time of [0, 1, 2, 3]) {
        const f: HistoryFilters = {};
        if (mask & 1) f.sessionId = r.sessionId ?? "s1";
        if (mask & 2) f.commandId = r.id;
        if (mask & 4) f.laneKey = r.lane;
        if (mask & 8) f.type = r.type;
        if (mask & 16) f.actor = r.actor;
        if (status) f.status = status;
        if (time & 1) f.fromTimestamp = T0 + 100_000;
        if (time & 2) f.toTimestamp = T0 + 300_000;
        out.push(f);
      }
    }
  }
  return out;
}

function planParams(f: HistoryFilters): Record<string, unknown> {
  const p: Record<string, unknown> = { after: 0, before: 40_000, limit: 101 };
  for (const k of ["sessionId", "commandId", "laneKey", "type", "actor", "status"] as const) if (f[k] !== undefined) p[k] = f[k];
  if (f.fromTimestamp !== undefined) p.from = f.fromTimestamp;
  if (f.toTimestamp !== undefined) p.to = f.toTimestamp;
  return p;
}

describe(`history over ${COMMANDS.toLocaleString("en-US")} commands`, () => {
  it("holds the generated journal", () => {
    expect((db.prepare("SELECT count(*) AS n FROM commands").get() as { n: number }).n).toBe(rows.length);
    expect(rows.length).toBeGreaterThanOrEqual(50_000);
    expect((db.prepare("SELECT count(*) AS n FROM clock_regressions").get() as { n: number }).n).toBeGreaterThan(0);
  });

  it.each([false, true])("serves every filter combination from an index (after ANALYZE: %s)", (analyze) => {
    if (analyze) db.exec("ANALYZE");
    const all = combinations();
    expect(all.length).toBe(32 * 5 * 4);
    for (const f of all) {
      for (const order of ["newest", "oldest"] as HistoryOrder[]) {
        const { sql } = buildHistorySql(f, order);
        expectIndexed(plan(sql, planParams(f)), `${order} ${JSON.stringify(f)}`);
      }
    }
    expectIndexed(plan(TIME_BOUND_SQL.first, [T0]), "time bound: first");
    expectIndexed(plan(TIME_BOUND_SQL.last, [T0]), "time bound: last");
    expectIndexed(plan(TIME_BOUND_SQL.lowerUnsafe, [1, T0]), "time bound: lower check");
    expectIndexed(plan(TIME_BOUND_SQL.upperUnsafe, [1, T0]), "time bound: upper check");
    expectIndexed(plan(DETAIL_SQL.command, ["x"]), "get_command: command");
    expectIndexed(plan(DETAIL_SQL.dependency, ["x"]), "get_command: dependency");
    expectIndexed(plan(DETAIL_SQL.trace, [{ id: "x", limit: 10 }]), "get_command: trace");
    expectIndexed(plan(DETAIL_SQL.dependents, ["x", 10]), "get_command: dependents");
    // restart recovery still reads only the unfinished-commands partial index
    expect(plan(`SELECT command_id FROM commands WHERE status IN (${UNFINISHED_SQL_LIST}) ORDER BY accepted_seq`, []).join(" ")).toContain(
      "commands_unfinished",
    );
  });

  const matches = (f: HistoryFilters) => (r: Row): boolean =>
    (f.sessionId === undefined || r.sessionId === f.sessionId) &&
    (f.laneKey === undefined || r.lane === f.laneKey) &&
    (f.type === undefined || r.type === f.type) &&
    (f.actor === undefined || r.actor === f.actor) &&
    (f.status === undefined || r.status === f.status) &&
    (f.fromTimestamp === undefined || r.at >= f.fromTimestamp) &&
    (f.toTimestamp === undefined || r.at <= f.toTimestamp);

  const cases: Array<[string, () => HistoryFilters]> = [
    ["no filter", () => ({})],
    ["session", () => ({ sessionId: sample().sessionId ?? "s1" })],
    ["lane server", () => ({ laneKey: "server" })],
    ["type + actor", () => ({ type: "patch", actor: "alice" })],
    ["finished status", () => ({ status: "failed" })],
    // commands 10,000..16,000; step-backs at 10,470 (below the window although admitted inside it)
    // and 16,452 (inside the window although admitted after it)
    ["time window (with clock step-backs at both ends)", () => ({ fromTimestamp: T0 + 100_000, toTimestamp: T0 + 160_000 })],
    ["time from + session", () => ({ fromTimestamp: T0 + 250_000, sessionId: "s7" })],
  ];

  describe.each(["newest", "oldest"] as HistoryOrder[])("paging %s first", (order) => {
    it.each(cases)("%s: every matching command exactly once, in order, while commands keep arriving", (_name, filtersOf) => {
      const f = filtersOf();
      // the snapshot when paging starts
      const snapshot = rows.filter(matches(f)).map((r) => r.id);
      const startedAtSeq = rows[rows.length - 1]!.seq;
      const seen: HistoryItem[] = [];
      let cursor: string | undefined;
      let pages = 0;
      for (;;) {
        const p = queryHistory(db, { ...f, order, limit: 137, ...(cursor ? { cursor } : {}) });
        seen.push(...p.items);
        pages++;
        // new commands between pages: some match every filter used here
        add(3);
        if (!p.nextCursor) break;
        cursor = p.nextCursor;
      }
      const got = seen.map((i) => i.commandId);
      expect(new Set(got).size).toBe(got.length);
      const seqs = seen.map((i) => i.acceptedSeq);
      for (let i = 1; i < seqs.length; i++) {
        if (order === "newest") expect(seqs[i]!).toBeLessThan(seqs[i - 1]!);
        else expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);
      }
      if (order === "newest") {
        // nothing accepted after the first page shows up; everything before it does
        expect(got).toEqual([...snapshot].reverse());
      } else {
        // the snapshot in order, then (only) matching commands accepted while paging
        expect(got.slice(0, snapshot.length)).toEqual(snapshot);
        const later = rows.filter((r) => r.seq > startedAtSeq && matches(f)(r)).map((r) => r.id);
        expect(got.slice(snapshot.length)).toEqual(later.slice(0, got.length - snapshot.length));
      }
      for (const item of seen) expect(matches(f)({ ...item, lane: item.laneKey, id: item.commandId, seq: item.acceptedSeq, at: item.acceptedAt })).toBe(true);
      expect(pages).toBeGreaterThan(0);
    }, 60_000);
  });

  it("answers get_command with trace, dependencies and dependents on the big journal", async () => {
    const { getCommandDetail } = await import("../../src/journal/queries.js");
    const dependent = rows.find((r) => Number(r.id.slice(4)) % 50 === 1 && Number(r.id.slice(4)) > 1)!;
    const dependency = `cmd-${String(Number(dependent.id.slice(4)) - 1).padStart(7, "0")}`;
    const d = getCommandDetail(db, dependency, { maxRows: 500 })!;
    expect(d.dependents).toEqual([{ commandId: dependent.id, status: dependent.status }]);
    const e = getCommandDetail(db, dependent.id, { maxRows: 500 })!;
    expect(e.dependencies.map((x) => x.commandId)).toEqual([dependency]);
    expect(e.trace[0]!.phase).toBe("accepted");
  });
});
