/** History and command-detail queries (src/journal/queries.ts) against a real SqliteStore. */
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  HistoryCursorError,
  decodeCursor,
  encodeCursor,
  getCommandDetail,
  queryHistory,
  type HistoryFilters,
  type HistoryItem,
  type HistoryOrder,
  type HistoryRequest,
} from "../../src/journal/queries.js";
import { SqliteStore } from "../../src/journal/sqlite-store.js";
import { RecordBuilder } from "./helpers.js";
import { lifecycle, type Cmd } from "./history-helpers.js";

let store: SqliteStore;
let b: RecordBuilder;
beforeEach(() => {
  store = new SqliteStore({ path: ":memory:", durability: "off" });
  store.open();
  b = new RecordBuilder();
});
afterEach(() => store.close());

const commit = (...cmds: Cmd[]): void => store.commit(cmds.flatMap((c) => lifecycle(b, c)));
const page = (q: Partial<HistoryRequest> = {}) => queryHistory(store.database(), { limit: 100, ...q });
const ids = (items: HistoryItem[]) => items.map((i) => i.commandId);

/** Every page, following nextCursor. */
function allPages(q: Partial<HistoryRequest>): HistoryItem[] {
  const out: HistoryItem[] = [];
  let cursor: string | undefined;
  for (let n = 0; n < 10_000; n++) {
    const p = page({ ...q, ...(cursor ? { cursor } : {}) });
    out.push(...p.items);
    expect(p.count).toBe(p.items.length);
    if (!p.nextCursor) return out;
    cursor = p.nextCursor;
  }
  throw new Error("too many pages");
}

describe("get_command_history query", () => {
  beforeEach(() => {
    commit(
      { id: "a1", sessionId: "alpha", type: "set", actor: "ann" },
      { id: "b1", sessionId: "beta", type: "patch", actor: "bob", status: "failed" },
      { id: "srv", sessionId: null, type: "create_session", actor: "ann" },
      { id: "a2", sessionId: "alpha", type: "set", actor: "bob", status: "timed_out", dependsOn: ["a1"], idempotencyKey: "k1" },
      { id: "b2", sessionId: "beta", type: "set", actor: "ann", status: "interrupted" },
      { id: "a3", sessionId: "alpha", type: "get_state", actor: "ann", status: "running" },
      { id: "b3", sessionId: "beta", type: "set", actor: "bob", status: "queued" },
    );
  });

  it("lists every command newest first by default, oldest first on request", () => {
    expect(ids(page().items)).toEqual(["b3", "a3", "b2", "a2", "srv", "b1", "a1"]);
    expect(ids(page({ order: "oldest" }).items)).toEqual(["a1", "b1", "srv", "a2", "b2", "a3", "b3"]);
    expect(page().nextCursor).toBeUndefined();
    expect(page().count).toBe(7);
  });

  it("shapes items without data payloads", () => {
    const items = page().items;
    const a2 = items.find((i) => i.commandId === "a2")!;
    expect(a2).toEqual({
      commandId: "a2",
      type: "set",
      sessionId: "alpha",
      laneKey: "session:alpha",
      actor: "bob",
      status: "timed_out",
      acceptedSeq: expect.any(Number),
      acceptedAt: expect.any(Number),
      finishedAt: a2.acceptedAt + 2,
      success: false,
      code: "timeout",
      error: "it timed_out",
      idempotencyKey: "k1",
      dependsOn: ["a1"],
    });
    const a1 = items.find((i) => i.commandId === "a1")!;
    expect(a1).toMatchObject({ success: true, sessionVersion: 1, status: "succeeded" });
    expect(JSON.stringify(items)).not.toContain("xxxxx");
    const srv = items.find((i) => i.commandId === "srv")!;
    expect(srv).toMatchObject({ sessionId: null, laneKey: "server" });
    const running = items.find((i) => i.commandId === "a3")!;
    expect(running).not.toHaveProperty("finishedAt");
    expect(running).not.toHaveProperty("success");
  });

  it.each<[HistoryFilters, string[]]>([
    [{ sessionId: "alpha" }, ["a3", "a2", "a1"]],
    [{ sessionId: "nope" }, []],
    [{ commandId: "b2" }, ["b2"]],
    [{ commandId: "b2", sessionId: "alpha" }, []],
    [{ type: "set" }, ["b3", "b2", "a2", "a1"]],
    [{ type: "set", actor: "bob" }, ["b3", "a2"]],
    [{ status: "failed" }, ["b1"]],
    [{ status: "queued" }, ["b3"]],
    [{ status: "running" }, ["a3"]],
    [{ status: "interrupted" }, ["b2"]],
    [{ status: "pending" }, []],
    [{ status: "cancelled" }, []],
    [{ actor: "ann" }, ["a3", "b2", "srv", "a1"]],
    [{ laneKey: "server" }, ["srv"]],
    [{ laneKey: "session:beta", status: "queued" }, ["b3"]],
    [{ sessionId: "beta", laneKey: "session:beta", type: "set", actor: "ann", status: "interrupted" }, ["b2"]],
  ])("filters %j", (filters, expected) => {
    expect(ids(page(filters).items)).toEqual(expected);
    expect(ids(page({ ...filters, order: "oldest" }).items)).toEqual([...expected].reverse());
  });

  it("filters on accepted time, inclusive on both ends", () => {
    const all = page({ order: "oldest" }).items;
    const t = all.map((i) => i.acceptedAt);
    expect(ids(page({ fromTimestamp: t[2], toTimestamp: t[4], order: "oldest" }).items)).toEqual(["srv", "a2", "b2"]);
    expect(ids(page({ fromTimestamp: t[5]! }).items)).toEqual(["b3", "a3"]);
    expect(ids(page({ toTimestamp: t[0]! }).items)).toEqual(["a1"]);
    expect(ids(page({ toTimestamp: t[0]! - 1 }).items)).toEqual([]);
    expect(ids(page({ fromTimestamp: t[6]! + 1 }).items)).toEqual([]);
    expect(ids(page({ fromTimestamp: t[4], toTimestamp: t[2] }).items)).toEqual([]);
    expect(ids(page({ fromTimestamp: t[1], toTimestamp: t[5], sessionId: "beta" }).items)).toEqual(["b2", "b1"]);
  });

  it("pages with an opaque cursor; the last page has no nextCursor", () => {
    for (const order of ["newest", "oldest"] as const) {
      const p1 = page({ limit: 3, order });
      expect(p1.count).toBe(3);
      expect(typeof p1.nextCursor).toBe("string");
      expect(p1.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
      const everything = allPages({ limit: 3, order });
      expect(ids(everything)).toEqual(ids(page({ order }).items));
      // exactly limit rows left: no empty trailing page
      expect(allPages({ limit: 7, order })).toHaveLength(7);
      expect(page({ limit: 7, order }).nextCursor).toBeUndefined();
    }
  });

  it("keeps pages stable while new commands arrive", () => {
    const p1 = page({ limit: 2, sessionId: "alpha" });
    commit({ id: "a4", sessionId: "alpha" }, { id: "a5", sessionId: "alpha" });
    const p2 = page({ limit: 2, sessionId: "alpha", cursor: p1.nextCursor! });
    expect([...ids(p1.items), ...ids(p2.items)]).toEqual(["a3", "a2", "a1"]);
    expect(p2.nextCursor).toBeUndefined();

    const o1 = page({ limit: 2, sessionId: "alpha", order: "oldest" });
    commit({ id: "a6", sessionId: "alpha" });
    const rest = allPages({ limit: 2, sessionId: "alpha", order: "oldest", cursor: o1.nextCursor! });
    expect([...ids(o1.items), ...ids(rest)]).toEqual(["a1", "a2", "a3", "a4", "a5", "a6"]);
  });

  it("refuses a cursor used with other filters, another order, or that is not a cursor", () => {
    const c = page({ limit: 1, sessionId: "alpha" }).nextCursor!;
    expect(() => page({ limit: 1, sessionId: "beta", cursor: c })).toThrow(HistoryCursorError);
    expect(() => page({ limit: 1, sessionId: "alpha", status: "failed", cursor: c })).toThrow(/different filters/);
    expect(() => page({ limit: 1, sessionId: "alpha", order: "oldest", cursor: c })).toThrow(/order/);
    // the page size may change between pages
    expect(page({ limit: 5, sessionId: "alpha", cursor: c }).items).toHaveLength(2);
    for (const bad of ["x", "!!!", Buffer.from("{}").toString("base64url"), Buffer.from('{"v":1,"seq":-1,"order":"newest","f":"x"}').toString("base64url")]) {
      expect(() => page({ cursor: bad })).toThrow(HistoryCursorError);
    }
    expect(decodeCursor(encodeCursor(42, "oldest", { type: "t" }), "oldest", { type: "t" })).toBe(42);
  });

  it("prepares each statement once per connection", () => {
    page({ sessionId: "alpha" });
    const spy = vi.spyOn(store.database(), "prepare");
    page({ sessionId: "beta" });
    page({ sessionId: "alpha", limit: 1 });
    expect(spy).not.toHaveBeenCalled();
    page({ sessionId: "alpha", type: "set" });
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
  });
});

describe("time windows with a clock that steps back", () => {
  it("match a brute-force filter for any accepted_at sequence, window and page size", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: -2, max: 42 }),
        fc.integer({ min: -2, max: 42 }),
        fc.integer({ min: 1, max: 7 }),
        fc.constantFrom<HistoryOrder>("newest", "oldest"),
        fc.boolean(),
        fc.boolean(),
        (times, from, to, limit, order, useFrom, useTo) => {
          const s = new SqliteStore({ path: ":memory:", durability: "off" });
          s.open();
          try {
            const rb = new RecordBuilder();
            const base = 1_800_000_000_000;
            const records = times.flatMap((t, i) => lifecycle(rb, { id: `c${i}`, sessionId: i % 2 ? "odd" : "even", at: base + t }));
            for (let i = 0; i < records.length; i += 7) s.commit(records.slice(i, i + 7));
            const filters: HistoryFilters = {};
            if (useFrom) filters.fromTimestamp = base + from;
            if (useTo) filters.toTimestamp = base + to;
            const expected = times
              .map((t, i) => ({ id: `c${i}`, at: base + t }))
              .filter((c) => (!useFrom || c.at >= base + from) && (!useTo || c.at <= base + to))
              .map((c) => c.id);
            if (order === "newest") expected.reverse();
            const got: string[] = [];
            let cursor: string | undefined;
            for (;;) {
              const p = queryHistory(s.database(), { ...filters, order, limit, ...(cursor ? { cursor } : {}) });
              got.push(...ids(p.items));
              if (!p.nextCursor) break;
              cursor = p.nextCursor;
            }
            expect(got).toEqual(expected);
          } finally {
            s.close();
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("the store records clock regressions only when accepted_at goes backwards, within and across batches", () => {
    commit({ id: "x1", at: 1000 }, { id: "x2", at: 1000 }, { id: "x3", at: 2000 }, { id: "x4", at: 1500 }, { id: "x5", at: 3000 });
    const rows = store.database().prepare("SELECT accepted_at, previous_max FROM clock_regressions").all();
    expect(rows).toEqual([{ accepted_at: 1500, previous_max: 2000 }]);
    commit({ id: "x6", at: 3000 });
    commit({ id: "x7", at: 2500 }, { id: "x8", at: 4000 });
    expect(store.database().prepare("SELECT accepted_at, previous_max FROM clock_regressions ORDER BY accepted_seq").all()).toEqual([
      { accepted_at: 1500, previous_max: 2000 },
      { accepted_at: 2500, previous_max: 3000 },
    ]);
  });
});

describe("get_command detail", () => {
  it("returns the command, its envelope as journaled, trace, dependencies and dependents", () => {
    commit({ id: "base", sessionId: "s", params: { path: "/x", value: 1 } });
    commit({ id: "mid", sessionId: "s", dependsOn: ["base", "ghost"], idempotencyKey: "k", params: { path: "/y", value: 2 } });
    commit({ id: "d1", sessionId: "t", dependsOn: ["mid"], status: "failed" }, { id: "d2", sessionId: "t", dependsOn: ["base", "mid"], status: "running" });
    // a replay under the same id, and one by idempotencyKey under another id
    const orig = store.getCommand("mid")!;
    store.commit([
      b.record("replayed", "mid", "s", { type: "set", actor: "local", outcome: orig.outcome!, detail: { replayOf: "mid", by: "id" } }),
      b.record("replayed", "retry-1", "s", { type: "set", actor: "other", outcome: orig.outcome!, detail: { replayOf: "mid", by: "idempotencyKey" } }),
      b.record("replayed", "unrelated", "s", { type: "set", actor: "x", outcome: orig.outcome!, detail: { replayOf: "base", by: "idempotencyKey" } }),
    ]);

    const d = getCommandDetail(store.database(), "mid", { maxRows: 100 })!;
    expect(d.command).toEqual({
      commandId: "mid",
      type: "set",
      sessionId: "s",
      laneKey: "session:s",
      actor: "local",
      status: "succeeded",
      explicitId: true,
      fingerprint: "fp-mid",
      idempotencyKey: "k",
      acceptedSeq: expect.any(Number),
      acceptedAt: expect.any(Number),
      startedAt: expect.any(Number),
      finishedSeq: expect.any(Number),
      finishedAt: expect.any(Number),
      timeoutMs: 30_000,
      envelope: { type: "set", id: "mid", sessionId: "s", dependsOn: ["base", "ghost"], idempotencyKey: "k", path: "/y", value: 2 },
      outcome: { command: "set", success: true, data: { big: "x".repeat(50) }, sessionVersion: 1 },
    });
    expect(d.trace.map((t) => [t.phase, t.commandId ?? "mid"])).toEqual([
      ["accepted", "mid"],
      ["started", "mid"],
      ["finished", "mid"],
      ["replayed", "mid"],
      ["replayed", "retry-1"],
    ]);
    expect(d.trace[4]!.detail).toEqual({ replayOf: "mid", by: "idempotencyKey" });
    const seqs = d.trace.map((t) => t.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(d.trace[0]).toMatchObject({ seq: d.command.acceptedSeq, laneSequence: expect.any(Number), recordedAt: d.command.acceptedAt });
    expect(d.dependencies).toEqual([
      { commandId: "base", status: "succeeded", outcome: expect.objectContaining({ success: true }) },
      { commandId: "ghost", status: "unknown" },
    ]);
    expect(d.dependents).toEqual([
      { commandId: "d1", status: "failed" },
      { commandId: "d2", status: "running" },
    ]);
    expect(d.traceTruncated).toBeUndefined();
    expect(d.dependentsTruncated).toBeUndefined();

    const base = getCommandDetail(store.database(), "base", { maxRows: 100 })!;
    expect(base.dependencies).toEqual([]);
    expect(base.dependents.map((x) => x.commandId)).toEqual(["mid", "d2"]);
    expect(base.command.envelope).toEqual({ type: "set", id: "base", sessionId: "s", path: "/x", value: 1 });

    const capped = getCommandDetail(store.database(), "mid", { maxRows: 1 })!;
    expect(capped.trace).toHaveLength(1);
    expect(capped.traceTruncated).toBe(true);
    expect(capped.dependents).toEqual([{ commandId: "d1", status: "failed" }]);
    expect(capped.dependentsTruncated).toBe(true);
  });

  it("describes unfinished commands without an outcome, and unknown ids as undefined", () => {
    commit({ id: "q", status: "queued", sessionId: null, type: "create_session", params: { sessionId: "new" } });
    const d = getCommandDetail(store.database(), "q", { maxRows: 10 })!;
    expect(d.command.status).toBe("queued");
    expect(d.command).not.toHaveProperty("outcome");
    expect(d.command).not.toHaveProperty("finishedAt");
    expect(d.command.envelope).toEqual({ type: "create_session", id: "q", sessionId: "new" });
    expect(d.trace.map((t) => t.phase)).toEqual(["accepted"]);
    expect(getCommandDetail(store.database(), "nope", { maxRows: 10 })).toBeUndefined();
  });
});
