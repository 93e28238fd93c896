/**
 * Issue #4 item 6: export a journal as a trace (JSON lines) and import it into an empty journal.
 * The fixtures (fixtures/traces/*.jsonl, scripts/make-trace-fixtures.mjs) come from a real run.
 */
import { sessionRows } from "../helpers/session-rows.js";
import { stateAfter } from "../../src/lifecycle/effects.js";
import { createHash } from "node:crypto";
import { queryHistory } from "../../src/journal/queries.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defineCommand } from "../../src/commands/define.js";
import { exportTrace, parseTime, type TraceHeader } from "../../src/journal/export.js";
import { importTrace, ImportError } from "../../src/journal/import.js";
import { createRedactor, REDACTED } from "../../src/journal/redaction.js";
import { SqliteStore } from "../../src/journal/sqlite-store.js";
import type { JournalRecord } from "../../src/journal/types.js";
import { startInProc } from "../helpers/inproc.js";
import { dumpTables, openRaw, RecordBuilder, tempDir } from "./helpers.js";

const ROOT = join(import.meta.dirname, "../..");
const FIXTURES = ["basic.jsonl", "session-alpha.jsonl", "governed.jsonl"];
const { dir, cleanup } = tempDir("causeway-trace-");
afterAll(cleanup);
let n = 0;

const fixtureLines = (name: string): string[] => readFileSync(join(ROOT, "fixtures/traces", name), "utf8").trim().split("\n");
const records = (lines: string[]): JournalRecord[] => lines.slice(1).map((l) => JSON.parse(l) as JournalRecord);

async function importInto(lines: Iterable<string> | AsyncIterable<string>, batchSize?: number): Promise<{ store: SqliteStore; path: string; report: Awaited<ReturnType<typeof importTrace>> }> {
  const path = join(dir, `imported-${++n}.db`);
  const store = new SqliteStore({ path, durability: "off" });
  store.open();
  const report = await importTrace(lines, store, batchSize !== undefined ? { batchSize } : {});
  return { store, path, report };
}

/** A record as it was before import renumbered it. */
function original(r: JournalRecord): JournalRecord {
  if (!r.detail || !("originalSeq" in r.detail)) return r;
  const { originalSeq, originalLaneSeq, ...rest } = r.detail as Record<string, unknown>;
  const out: JournalRecord = { ...r, seq: originalSeq as number, laneSeq: originalLaneSeq as number };
  if (Object.keys(rest).length > 0) out.detail = rest;
  else delete out.detail;
  return out;
}

/** What the records say each session ends up as. */
function sessionsFrom(recs: JournalRecord[]): Map<string, { state: unknown; version: number; deleted: boolean }> {
  const m = new Map<string, { state: unknown; version: number; deleted: boolean }>();
  for (const r of recs) {
    const e = r.phase === "finished" ? r.effect : undefined;
    if (!e) continue;
    // a deleted session keeps its version; its state is gone (schema v6: no checkpoint)
    if (e.kind === "delete") m.set(e.sessionId, { ...m.get(e.sessionId)!, state: null, deleted: true });
    else m.set(e.sessionId, { state: stateAfter(e, m.get(e.sessionId)?.state), version: e.version, deleted: false });
  }
  return m;
}

describe("trace fixtures: import into an empty journal, export again", () => {
  for (const name of FIXTURES) {
    it(`${name}: same entries, same outcomes, keys and session states`, async () => {
      const lines = fixtureLines(name);
      const header = JSON.parse(lines[0]!) as TraceHeader;
      expect(header).toMatchObject({ format: "causeway-trace", version: 1 });
      const recs = records(lines);
      const { store, report } = await importInto(lines, 7);
      expect(report.records).toBe(recs.length);

      const again = [...exportTrace(store.database())];
      const reRecs = records(again);
      // renumbered gap-free: seq 1..N, laneSeq 1..n per lane
      expect(reRecs.map((r) => r.seq)).toEqual(recs.map((_, i) => i + 1));
      const lanes = new Map<string, number>();
      for (const r of reRecs) {
        const next = (lanes.get(r.lane) ?? 0) + 1;
        expect(r.laneSeq).toBe(next);
        lanes.set(r.lane, next);
      }
      if (header.filters.sessionId === undefined) {
        // a whole journal is gap-free already: imported unchanged, byte for byte
        expect(report.renumbered).toBe(0);
        expect(again.slice(1)).toEqual(lines.slice(1));
      } else {
        expect(report.renumbered).toBeGreaterThan(0);
        expect(reRecs.map(original)).toEqual(recs);
      }
      // a second round trip changes nothing
      const second = await importInto(again);
      expect([...exportTrace(second.store.database())].slice(1)).toEqual(again.slice(1));
      second.store.close();

      // history queries on the imported journal return the trace's commands, in admission order,
      // with their recorded status and outcome fields
      const accepted = recs.filter((r) => r.phase === "accepted");
      const page = queryHistory(store.database(), { order: "oldest", limit: 500 });
      expect(page.items.map((i) => i.commandId)).toEqual(accepted.map((r) => r.commandId));
      for (const item of page.items) {
        const fin = recs.find((r) => r.phase === "finished" && r.commandId === item.commandId);
        if (fin) expect(item).toMatchObject({ status: fin.status, success: fin.outcome!.success });
      }

      // the imported journal answers the same outcomes…
      const finished = recs.filter((r) => r.phase === "finished");
      expect(finished.length).toBeGreaterThan(5);
      for (const r of finished) expect(store.getCommand(r.commandId)).toMatchObject({ status: r.status, outcome: r.outcome, fingerprint: r.fingerprint, type: r.type });
      // …idempotency keys…
      for (const r of recs.filter((x) => x.phase === "accepted" && x.idempotencyKey)) {
        expect(store.getIdempotency(r.idempotencyScope!, r.idempotencyKey!, r.recordedAt)?.commandId).toBe(r.commandId);
      }
      // …and session states and versions
      const expected = sessionsFrom(recs);
      const rows = sessionRows(store.database());
      expect(rows.map((r) => r.session_id)).toEqual([...expected.keys()].sort());
      for (const row of rows) {
        const e = expected.get(row.session_id)!;
        expect({ state: JSON.parse(row.state), version: row.version, deleted: row.deleted_at !== null }).toEqual(e);
      }
      // the redacted values stay redacted, the secrets of the fixture run never appear
      const text = lines.join("\n");
      expect(text).toContain(REDACTED);
      expect(text).not.toMatch(/fixture-password|fixture-api-key/);
      store.close();
    });
  }
});

const login = defineCommand<{ user: string; password: string }>({
  type: "login",
  scope: "session",
  effect: "write",
  deterministic: true,
  params: { type: "object", properties: { user: { type: "string" }, password: { type: "string" } }, required: ["user", "password"] },
  run(ctx, { user, password }) {
    ctx.state.user = user;
    return { ok: true, token: createHash("sha256").update(password).digest("hex").slice(0, 12) };
  },
});
const RULES = { login: ["/password", "outcome:/data/token"] };

/** A journal written by the real engine: sessions, writes, replays, a conflict, a failure, a delete. */
async function liveJournal(redact: Record<string, string[]> = RULES): Promise<string> {
  const path = join(dir, `source-${++n}.db`);
  const server = startInProc({ config: { db: path, redact }, commands: [login] });
  const c = server.connect();
  await c.request({ type: "create_session", id: "ca", sessionId: "a", idempotencyKey: "create-a" });
  await c.request({ type: "create_session", id: "cb", sessionId: "b", state: { n: 0 } });
  await c.request({ type: "set", id: "a1", sessionId: "a", path: "/x", value: 1 });
  await c.request({ type: "login", id: "a2", sessionId: "a", user: "ada", password: "pw-live-1" });
  await c.request({ type: "patch", id: "b1", sessionId: "b", ops: [{ op: "replace", path: "/n", value: 1 }], idempotencyKey: "k1", dependsOn: ["a1"] });
  await c.request({ type: "set", id: "b2", sessionId: "b", path: "/n", value: 2, ifSessionVersion: 0 }); // version_conflict
  await c.request({ type: "set", id: "a1", sessionId: "a", path: "/x", value: 1 }); // replay
  await c.request({ type: "set", id: "a1", sessionId: "a", path: "/x", value: 9 }); // conflict
  await c.request({ type: "patch", id: "b1-retry", sessionId: "b", ops: [{ op: "replace", path: "/n", value: 1 }], idempotencyKey: "k1" }); // key replay
  await c.request({ type: "create_session", id: "cz", sessionId: "z" });
  await c.request({ type: "delete_session", id: "dz", sessionId: "z" });
  await c.request({ type: "get_state", id: "ra", sessionId: "a" });
  await server.stop();
  return path;
}

describe("export / import of a live journal", () => {
  it("a whole-journal export imports into a database identical in every journal and materialized table", async () => {
    const path = await liveJournal();
    const src = openRaw(path);
    const lines = [...exportTrace(src, { redactor: createRedactor(RULES), pageSize: 3 })];
    const { store } = await importInto(lines);
    expect(dumpTables(store.database())).toEqual(dumpTables(src));
    expect(lines.join("\n")).not.toContain("pw-live-1");
    src.close();
    store.close();
  });

  it("a one-session export carries the session's creation, and imports to the same outcomes and state", async () => {
    const path = await liveJournal();
    const src = openRaw(path);
    const lines = [...exportTrace(src, { sessionId: "a" })];
    const recs = records(lines);
    expect(JSON.parse(lines[0]!)).toMatchObject({ filters: { sessionId: "a" } });
    expect([...new Set(recs.map((r) => r.commandId))].sort()).toEqual(["a1", "a2", "ca", "ra"]);
    const { store, report } = await importInto(lines);
    expect(report).toMatchObject({ records: recs.length, sessions: 1, unfinished: 0 });
    const source = new SqliteStore({ path, durability: "off" });
    source.open();
    for (const id of ["ca", "a1", "a2", "ra"]) {
      const { acceptedSeq: _s, ...want } = source.getCommand(id)!;
      expect(store.getCommand(id)).toMatchObject(want);
    }
    const state = (db: import("better-sqlite3").Database) => sessionRows(db, "session_id = 'a'").map((r) => ({ state: r.state, version: r.version, created_at: r.created_at }))[0];
    expect(state(store.database())).toEqual(state(src));
    // the original numbering is kept in detail
    const imported = records([...exportTrace(store.database())]);
    expect(imported.map(original)).toEqual(recs);
    source.close();
    src.close();
    store.close();
  });

  it("applies the export's redaction rules to records journaled before them (never to session state)", async () => {
    const path = await liveJournal({});
    const src = openRaw(path);
    const plain = [...exportTrace(src)].join("\n");
    expect(plain).toContain("pw-live-1");
    const lines = [...exportTrace(src, { redactor: createRedactor({ ...RULES, set: ["/value"] }) })];
    expect(JSON.parse(lines[0]!)).toMatchObject({ redact: { ...RULES, set: ["/value"] } });
    const text = lines.join("\n");
    expect(text).not.toContain("pw-live-1");
    const accepted = records(lines).find((r) => r.commandId === "a1" && r.phase === "accepted")!;
    expect(accepted.params).toEqual({ path: "/x", value: REDACTED });
    const finished = records(lines).find((r) => r.commandId === "a1" && r.phase === "finished")!;
    expect(finished.effect).toMatchObject({ state: { x: 1 } });
    src.close();
  });

  it("pages through the journal without changing the output", async () => {
    const path = await liveJournal();
    const src = openRaw(path);
    const now = () => 0;
    expect([...exportTrace(src, { pageSize: 1, now })]).toEqual([...exportTrace(src, { pageSize: 1000, now })]);
    src.close();
  });
});

/** A journal with fixed times: 1_700_000_000_001 … one ms per record. */
function fixedJournal(): { path: string; recs: JournalRecord[] } {
  const path = join(dir, `fixed-${++n}.db`);
  const b = new RecordBuilder();
  const recs: JournalRecord[] = [
    b.record("accepted", "c", null, { type: "create_session", params: { sessionId: "s" } }),
    b.record("finished", "c", null, { type: "create_session", status: "succeeded", outcome: { command: "create_session", success: true }, effect: { kind: "create", sessionId: "s", state: {}, version: 0 } }),
  ];
  for (let i = 1; i <= 4; i++) {
    recs.push(b.record("accepted", `w${i}`, "s", { type: "set", params: { path: "/i", value: i } }));
    recs.push(b.record("started", `w${i}`, "s", { type: "set" }));
    recs.push(b.record("finished", `w${i}`, "s", { type: "set", status: "succeeded", outcome: { command: "set", success: true, sessionVersion: i }, effect: { kind: "write", sessionId: "s", state: { i }, version: i } }));
  }
  const store = new SqliteStore({ path, durability: "off" });
  store.open();
  store.commit(recs);
  store.close();
  return { path, recs };
}

describe("time filters and refusals", () => {
  it("filters on recordedAt with epoch ms or ISO times, inclusive", () => {
    const { path, recs } = fixedJournal();
    const src = openRaw(path);
    const t = (i: number) => recs[i]!.recordedAt;
    const seqs = (opts: Parameters<typeof exportTrace>[1]) => records([...exportTrace(src, opts)]).map((r) => r.seq);
    expect(seqs({ from: t(2), to: t(4) })).toEqual([3, 4, 5]);
    expect(seqs({ from: new Date(t(10)).toISOString() })).toEqual([11, 12, 13, 14]);
    expect(seqs({ to: String(t(1)) })).toEqual([1, 2]);
    expect(JSON.parse([...exportTrace(src, { from: t(2) })][0]!)).toMatchObject({ filters: { from: t(2) }, lastSeq: 14 });
    expect(() => parseTime("yesterday", "--from")).toThrow(/--from: expected epoch milliseconds or an ISO-8601 time/);
    src.close();
  });

  it("refuses a trace that is not self-contained, naming the line, and leaves the database empty", async () => {
    const { path } = fixedJournal();
    const src = openRaw(path);
    const cut = [...exportTrace(src, { from: recs0(src) + 3 })]; // starts at w1's `started`
    src.close();
    const target = join(dir, `refused-${++n}.db`);
    const store = new SqliteStore({ path: target, durability: "off" });
    store.open();
    const err = await importTrace(cut, store).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImportError);
    expect((err as Error).message).toMatch(/^trace line 2: cannot be imported: .*started: unknown command w1.*self-contained/);
    store.close();
    const db = openRaw(target);
    expect(dumpTables(db)).toMatchObject({ journal: [], commands: [], sessions: [], lanes: [] });
    db.close();
  });

  it("refuses a non-empty database and malformed traces", async () => {
    const { path } = fixedJournal();
    const src = openRaw(path);
    const lines = [...exportTrace(src)];
    src.close();
    const { store } = await importInto(lines);
    await expect(importTrace(lines, store)).rejects.toThrow(/is not empty \(14 journal rows, 5 commands, 1 sessions\); import only into a new, empty database/);
    store.close();
    const fresh = async (input: string[]) => {
      const s = new SqliteStore({ path: join(dir, `bad-${++n}.db`), durability: "off" });
      s.open();
      try {
        return await importTrace(input, s).catch((e: unknown) => e as Error);
      } finally {
        s.close();
      }
    };
    expect(((await fresh([])) as Error).message).toMatch(/empty \(no trace header\)/);
    expect(((await fresh(['{"seq":1}'])) as Error).message).toMatch(/line 1: not a causeway trace/);
    expect(((await fresh(['{"format":"causeway-trace","version":2}'])) as Error).message).toMatch(/version 2 is not supported/);
    expect(((await fresh([lines[0]!, "", "{oops"])) as Error).message).toMatch(/^trace line 3: invalid JSON/);
    expect(((await fresh([lines[0]!, '{"seq":1,"laneSeq":1,"lane":"server","commandId":"x","type":"t","actor":"a","phase":"done","recordedAt":1}'])) as Error).message).toMatch(/line 2: not a journal record: unknown phase "done"/);
    expect(((await fresh([lines[0]!, lines[2]!, lines[1]!])) as Error).message).toMatch(/line 3: seq 1 is not above the previous record's seq 2/);
  });
});

function recs0(db: import("better-sqlite3").Database): number {
  return (db.prepare("SELECT min(recorded_at) AS t FROM journal").get() as { t: number }).t;
}
