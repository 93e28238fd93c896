/**
 * Issue #14 §4: pi-server's `get_command_history.entries` (src/journal/queries/entries.ts): the
 * journal rows of a history page's commands, one entry per row, in the page's order, bounded by
 * the page limit, each matching pi-server's row filters.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildEntriesSql, ENVELOPE_SQL, queryEntries, queryHistory, type EntriesRequest } from "../../src/journal/queries.js";
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
const entries = (q: Partial<EntriesRequest> & { commandIds: string[] }) => queryEntries(store.database(), { order: "newest", limit: 100, ...q });

describe("#14.4 get_command_history entries", () => {
  it("#14.4 one entry per journal row of the page's commands, newest first, with pi-server's phase names and fields", () => {
    commit({ id: "a", sessionId: "s", idempotencyKey: "k" }, { id: "b", sessionId: "s", dependsOn: ["a"], status: "failed" }, { id: "other", sessionId: "t" });
    const orig = store.getCommand("a")!;
    store.commit([
      b.record("replayed", "a", "s", { type: "set", actor: "local", outcome: orig.outcome!, detail: { replayOf: "a", by: "id" } }),
      b.record("conflict", "a", "s", { type: "set", actor: "local", fingerprint: "fp-else", outcome: { command: "set", success: false, code: "replay_conflict", error: "Conflicting id 'a'" }, detail: { conflictWith: "a", by: "id" } }),
      // a replay by key under the retry's own id: an entry of "retry", not of "a"
      b.record("replayed", "retry", "s", { type: "set", actor: "local", outcome: orig.outcome!, detail: { replayOf: "a", by: "idempotencyKey" } }),
    ]);
    const { entries: got, more } = entries({ commandIds: ["a", "b"] });
    expect(more).toBe(false);
    expect(got.map((e) => [e.commandId, e.phase])).toEqual([
      ["a", "conflict"],
      ["a", "replayed"],
      ["b", "command_finished"],
      ["b", "command_started"],
      ["b", "command_accepted"],
      ["a", "command_finished"],
      ["a", "command_started"],
      ["a", "command_accepted"],
    ]);
    const seqs = got.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => y - x));
    expect(got[7]).toEqual({ recordedAt: expect.any(Number), phase: "command_accepted", commandId: "a", commandType: "set", laneKey: "session:s", laneSequence: 1, fingerprint: "fp-a", explicitId: true, seq: 1, sessionId: "s", idempotencyKey: "k" });
    expect(got[5]).toMatchObject({ phase: "command_finished", success: true, sessionVersion: 1, idempotencyKey: "k" });
    expect(got[5]).not.toHaveProperty("error");
    expect(got[2]).toMatchObject({ phase: "command_finished", success: false, error: "it failed", code: "handler_error", dependsOn: ["a"] });
    expect(got[1]).toMatchObject({ phase: "replayed", replayed: true, success: true, idempotencyKey: "k" });
    // a conflict row is another request under this id: its own fingerprint, none of the command's envelope
    expect(got[0]).toMatchObject({ phase: "conflict", fingerprint: "fp-else", success: false, code: "replay_conflict", explicitId: true });
    expect(got[0]).not.toHaveProperty("idempotencyKey");
    expect(got[0]).not.toHaveProperty("replayed");
    // oldest order
    expect(entries({ commandIds: ["a", "b"], order: "oldest" }).entries.map((e) => e.seq)).toEqual([...seqs].reverse());
  });

  it("#14.4 entries are bounded by the same limit as the page; `more` says rows were left out", () => {
    commit({ id: "x1" }, { id: "x2" }, { id: "x3" }, { id: "x4", status: "timed_out", outcome: { command: "set", success: false, code: "timeout", error: "timed out", timedOut: true } });
    const page = queryHistory(store.database(), { limit: 2 });
    expect(page.items.map((i) => i.commandId)).toEqual(["x4", "x3"]);
    const r = entries({ commandIds: page.items.map((i) => i.commandId), limit: 2 });
    expect(r.more).toBe(true);
    expect(r.entries.map((e) => [e.commandId, e.phase])).toEqual([
      ["x4", "command_finished"],
      ["x4", "command_accepted"],
    ]);
    expect(r.entries[0]).toMatchObject({ success: false, timedOut: true, code: "timeout" });
    const all = entries({ commandIds: ["x4", "x3"], limit: 5 });
    expect(all.more).toBe(false);
    expect(all.entries).toHaveLength(5);
  });

  it("#14.4 applies pi-server's row filters: the row's sessionId and recordedAt, inclusive", () => {
    commit({ id: "p", sessionId: "s", at: 1_000 });
    // p's finished row is at 1002, its started row at 1001
    expect(entries({ commandIds: ["p"], fromTimestamp: 1_001, toTimestamp: 1_001 }).entries.map((e) => e.phase)).toEqual(["command_started"]);
    expect(entries({ commandIds: ["p"], fromTimestamp: 1_001 }).entries.map((e) => e.phase)).toEqual(["command_finished", "command_started"]);
    expect(entries({ commandIds: ["p"], sessionId: "s" }).entries).toHaveLength(3);
    expect(entries({ commandIds: ["p"], sessionId: "other" }).entries).toEqual([]);
    expect(entries({ commandIds: [] })).toEqual({ entries: [], more: false });
  });

  it("#14.4 reads through the journal_command index for every filter combination, envelopes by primary key", () => {
    const db = store.database();
    for (const sessionId of [undefined, "s"]) {
      for (const fromTimestamp of [undefined, 1]) {
        for (const toTimestamp of [undefined, 2]) {
          for (const order of ["newest", "oldest"] as const) {
            const sql = buildEntriesSql({ sessionId, fromTimestamp, toTimestamp, order });
            const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ ids: "[]", limit: 1, sessionId, from: fromTimestamp, to: toTimestamp }) as Array<{ detail: string }>).map((p) => p.detail);
            expect(plan.some((d) => /SEARCH j USING INDEX journal_command/.test(d)), plan.join("\n")).toBe(true);
            expect(plan.some((d) => /SCAN j\b/.test(d)), plan.join("\n")).toBe(false);
          }
        }
      }
    }
    // the envelopes by primary key, once per command
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${ENVELOPE_SQL}`).all("[]") as Array<{ detail: string }>).map((p) => p.detail);
    expect(plan.some((d) => /SEARCH commands USING INDEX sqlite_autoindex_commands_1 \(command_id=\?\)/.test(d)), plan.join("\n")).toBe(true);
    expect(plan.some((d) => /SCAN commands\b/.test(d)), plan.join("\n")).toBe(false);
  });
});
