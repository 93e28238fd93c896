/**
 * Issue #4 items 1 and 2, against the real server process over WebSocket: get_command_history
 * (filters, ordering, cursor paging that stays stable while commands keep arriving) and
 * get_command (envelope, trace with replays, dependencies, dependents).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CausewayClient, type ClientResponse, type Frame } from "../helpers/ws-client.js";
import { spawnServer, type SpawnedServer } from "../helpers/spawn.js";

type Data = Record<string, any>;

let server: SpawnedServer;
let client: CausewayClient;
const run = Date.now().toString(36);
const sid = (name: string): string => `${name}-${run}`;

async function ok(cmd: Record<string, unknown>): Promise<ClientResponse> {
  const r = await client.request(cmd);
  expect(r, JSON.stringify(r)).toMatchObject({ success: true });
  return r;
}

async function history(params: Record<string, unknown>): Promise<Data> {
  const r = await client.request({ type: "get_command_history", ...params });
  expect(r, JSON.stringify(r)).toMatchObject({ success: true });
  return r.data as Data;
}

async function allPages(params: Record<string, unknown>, between?: () => Promise<void>): Promise<Data[]> {
  const items: Data[] = [];
  let cursor: string | undefined;
  for (let n = 0; n < 1000; n++) {
    const page = await history({ ...params, ...(cursor ? { cursor } : {}) });
    expect(page.count).toBe(page.items.length);
    items.push(...page.items);
    if (between) await between();
    if (page.nextCursor === undefined) return items;
    cursor = page.nextCursor;
  }
  throw new Error("too many pages");
}

const ids = (items: Data[]): string[] => items.map((i) => i.commandId as string);

beforeAll(async () => {
  server = await spawnServer();
  client = await CausewayClient.connect(server.url);
  await ok({ type: "create_session", id: sid("create-h1"), sessionId: sid("h1") });
  await ok({ type: "create_session", id: sid("create-h2"), sessionId: sid("h2") });
  for (let i = 0; i < 5; i++) await ok({ type: "set", id: sid(`h1-w${i}`), sessionId: sid("h1"), path: "/n", value: i });
  await ok({ type: "get_state", id: sid("h2-read"), sessionId: sid("h2") });
  const failed = await client.request({ type: "fail", id: sid("h2-fail"), sessionId: sid("h2"), message: "nope" });
  expect(failed).toMatchObject({ success: false, code: "handler_error" });
  await ok({ type: "set", id: sid("h2-w"), sessionId: sid("h2"), path: "/big", value: "x".repeat(2000) });
});

afterAll(async () => {
  await client?.close();
  const exit = await server?.stop();
  expect(exit?.code).toBe(0);
});

describe("get_command_history", () => {
  it("lists a session's commands newest first, or oldest first, without data payloads", async () => {
    // the create runs in the session's lane and belongs to its history
    const newest = await history({ sessionIdFilter: sid("h1") });
    expect(ids(newest.items)).toEqual([...[4, 3, 2, 1, 0].map((i) => sid(`h1-w${i}`)), sid("create-h1")]);
    expect(newest.nextCursor).toBeUndefined();
    expect(newest.count).toBe(6);
    const oldest = await history({ sessionIdFilter: sid("h1"), order: "oldest" });
    expect(ids(oldest.items)).toEqual([sid("create-h1"), ...[0, 1, 2, 3, 4].map((i) => sid(`h1-w${i}`))]);
    expect(oldest.items[3]).toEqual({
      commandId: sid("h1-w2"),
      type: "set",
      sessionId: sid("h1"),
      laneKey: `session:${sid("h1")}`,
      actor: "local",
      status: "succeeded",
      acceptedSeq: expect.any(Number),
      acceptedAt: expect.any(Number),
      finishedAt: expect.any(Number),
      success: true,
      sessionVersion: 3,
    });
    const h2 = await history({ sessionIdFilter: sid("h2") });
    expect(JSON.stringify(h2)).not.toContain("xxxxxxxx");
  });

  it("filters by commandType, status, actor, laneKey, commandId and accepted time", async () => {
    const failed = await history({ status: "failed", sessionIdFilter: sid("h2") });
    expect(failed.items).toEqual([
      expect.objectContaining({ commandId: sid("h2-fail"), status: "failed", success: false, code: "handler_error", error: expect.stringContaining("nope") }),
    ]);
    const reads = await history({ commandType: "get_state", sessionIdFilter: sid("h2") });
    expect(ids(reads.items)).toEqual([sid("h2-read")]);
    const creates = await history({ commandType: "create_session", order: "oldest" });
    expect(ids(creates.items)).toEqual(expect.arrayContaining([sid("create-h1"), sid("create-h2")]));
    expect(creates.items.every((i: Data) => i.sessionId !== null && i.laneKey === `session:${i.sessionId}`)).toBe(true);
    expect(ids((await history({ laneKey: `session:${sid("h2")}`, commandType: "create_session" })).items)).toEqual([sid("create-h2")]);
    const mine = await history({ actor: "local", sessionIdFilter: sid("h1") });
    expect(mine.count).toBe(6);
    expect((await history({ actor: "somebody-else" })).items).toEqual([]);
    expect(ids((await history({ commandId: sid("h1-w3") })).items)).toEqual([sid("h1-w3")]);
    for (const status of ["pending", "cancelled"]) expect((await history({ status })).items).toEqual([]);

    const all = (await history({ sessionIdFilter: sid("h1"), order: "oldest" })).items as Data[];
    const windowed = await history({ fromTimestamp: all[1]!.acceptedAt, toTimestamp: all[3]!.acceptedAt, sessionIdFilter: sid("h1"), order: "oldest" });
    const expected = all.filter((i) => i.acceptedAt >= all[1]!.acceptedAt && i.acceptedAt <= all[3]!.acceptedAt);
    expect(ids(windowed.items)).toEqual(ids(expected));
    expect(ids(windowed.items)).toEqual(expect.arrayContaining([sid("h1-w0"), sid("h1-w1"), sid("h1-w2")]));
  });

  it("pages with a cursor that stays stable while new commands arrive", async () => {
    const s = sid("paged");
    await ok({ type: "create_session", id: sid("paged-create"), sessionId: s });
    const initial: string[] = [sid("paged-create")];
    for (let i = 0; i < 23; i++) {
      initial.push(sid(`p${i}`));
      await ok({ type: "set", id: sid(`p${i}`), sessionId: s, path: "/i", value: i });
    }
    let extra = 0;
    const arrivals: string[] = [];
    const writeMore = async (): Promise<void> => {
      for (let k = 0; k < 2; k++) {
        const id = sid(`late${extra++}`);
        arrivals.push(id);
        await ok({ type: "set", id, sessionId: s, path: "/late", value: extra });
      }
    };
    const newest = await allPages({ sessionIdFilter: s, limit: 4 }, writeMore);
    expect(ids(newest)).toEqual([...initial].reverse());

    const before = [...initial, ...arrivals];
    const oldest = await allPages({ sessionIdFilter: s, limit: 5, order: "oldest" }, writeMore);
    // the journal as it was, in order, then the commands that arrived while paging, in order
    const got = ids(oldest);
    expect(got.slice(0, before.length)).toEqual(before);
    const arrivedWhilePaging = arrivals.slice(before.length - initial.length);
    expect(got.slice(before.length)).toEqual(arrivedWhilePaging.slice(0, got.length - before.length));
    expect(new Set(ids(oldest)).size).toBe(oldest.length);
  });

  it("refuses bad input with invalid_command", async () => {
    const c1 = (await history({ sessionIdFilter: sid("h1"), limit: 2 })).nextCursor as string;
    expect(typeof c1).toBe("string");
    const refusals: Array<[Record<string, unknown>, RegExp]> = [
      [{ limit: 501 }, /historyPageMax/],
      [{ limit: 0 }, /limit/],
      [{ order: "sideways" }, /order/],
      [{ status: "exploded" }, /status/],
      [{ cursor: "not a cursor" }, /cursor/],
      [{ cursor: c1 }, /different filters/],
      [{ cursor: c1, sessionIdFilter: sid("h1"), order: "oldest" }, /order/],
      [{ fromTimestamp: "yesterday" }, /fromTimestamp/],
    ];
    for (const [params, why] of refusals) {
      const r = await client.request({ type: "get_command_history", ...params });
      expect(r, JSON.stringify(params)).toMatchObject({ success: false, code: "invalid_command" });
      expect(r.error, JSON.stringify(params)).toMatch(why);
    }
    // 500 is allowed
    expect((await client.request({ type: "get_command_history", limit: 500 })).success).toBe(true);
  });
});

describe("get_command", () => {
  it("shows a finished command's envelope, outcome, trace (with replays), dependencies and dependents", async () => {
    const s = sid("deps");
    await ok({ type: "create_session", id: sid("deps-create"), sessionId: s });
    await ok({ type: "set", id: sid("dep-a"), sessionId: s, path: "/a", value: 1 });
    const b = await ok({ type: "set", id: sid("dep-b"), sessionId: s, path: "/b", value: { nested: true }, dependsOn: [sid("dep-a")], idempotencyKey: sid("kb") });
    await ok({ type: "set", id: sid("dep-c"), sessionId: s, path: "/c", value: 3, dependsOn: [sid("dep-b")] });
    // a replay by id, and a replay by idempotencyKey under another id
    const replay = await client.request({ type: "set", id: sid("dep-b"), sessionId: s, path: "/b", value: { nested: true }, dependsOn: [sid("dep-a")], idempotencyKey: sid("kb") });
    expect(replay.replayed).toBe(true);
    const byKey = await client.request({ type: "set", id: sid("dep-b-retry"), sessionId: s, path: "/b", value: { nested: true }, dependsOn: [sid("dep-a")], idempotencyKey: sid("kb") });
    expect(byKey.replayed).toBe(true);

    const r = await client.request({ type: "get_command", commandId: sid("dep-b") });
    expect(r.success).toBe(true);
    const d = r.data as Data;
    expect(d.found).toBe(true);
    expect(d.command).toMatchObject({
      commandId: sid("dep-b"),
      type: "set",
      sessionId: s,
      laneKey: `session:${s}`,
      actor: "local",
      status: "succeeded",
      idempotencyKey: sid("kb"),
      envelope: { type: "set", id: sid("dep-b"), sessionId: s, path: "/b", value: { nested: true }, dependsOn: [sid("dep-a")], idempotencyKey: sid("kb") },
      outcome: { command: "set", success: true, data: b.data, sessionVersion: b.sessionVersion },
    });
    // the trace is the journal: the same seq / laneSequence the lifecycle events carried
    const events = client.frames.filter((f: Frame) => f.type.startsWith("command_") && (f.data as Data).commandId === sid("dep-b"));
    expect(d.trace.map((t: Data) => t.phase)).toEqual(["accepted", "started", "finished", "replayed", "replayed"]);
    expect(d.trace.slice(0, 4).map((t: Data) => [t.seq, t.laneSequence])).toEqual(events.map((e) => [(e.data as Data).seq, (e.data as Data).laneSequence]));
    expect(d.trace[3]).toMatchObject({ detail: { replayOf: sid("dep-b"), by: "id" } });
    expect(d.trace[4]).toMatchObject({ commandId: sid("dep-b-retry"), detail: { replayOf: sid("dep-b"), by: "idempotencyKey" } });
    expect(d.trace[0].recordedAt).toBe(d.command.acceptedAt);
    expect(d.dependencies).toEqual([{ commandId: sid("dep-a"), status: "succeeded", outcome: expect.objectContaining({ success: true, command: "set" }) }]);
    expect(d.dependents).toEqual([{ commandId: sid("dep-c"), status: "succeeded" }]);
    // an ungoverned command: accepted (0), started (1), finished (2); no decisions
    expect(d.governance).toEqual({ revision: 2, pendingReason: null, expiresAt: null, notBefore: null, tags: [], policyVersion: null, state: null, decisions: [] });

    const a = (await client.request({ type: "get_command", commandId: sid("dep-a") })).data as Data;
    expect(a.dependents).toEqual([{ commandId: sid("dep-b"), status: "succeeded" }]);
    expect(a.dependencies).toEqual([]);
  });

  it("answers an unknown id with found:false, and refuses missing input", async () => {
    expect(await client.request({ type: "get_command", commandId: sid("never") })).toMatchObject({
      success: true,
      data: { found: false, commandId: sid("never") },
    });
    expect(await client.request({ type: "get_command" })).toMatchObject({ success: false, code: "invalid_command" });
    // an envelope sessionId means nothing to get_command: it is ignored, like any unknown field (without --strict)
    expect(await client.request({ type: "get_command", commandId: "x", sessionId: "s" })).toMatchObject({ success: true, data: { found: false } });
  });

  it("shows a failed command's outcome and an unknown dependency", async () => {
    const r = await client.request({ type: "get_command", commandId: sid("h2-fail") });
    expect((r.data as Data).command).toMatchObject({ status: "failed", outcome: { success: false, code: "handler_error" }, envelope: { type: "fail", message: "nope" } });
    const s = sid("h2");
    const dep = await client.request({ type: "set", id: sid("orphan"), sessionId: s, path: "/o", value: 1, dependsOn: [sid("ghost")] });
    expect(dep).toMatchObject({ success: false, code: "dependency_unknown" });
    const o = (await client.request({ type: "get_command", commandId: sid("orphan") })).data as Data;
    expect(o.command.status).toBe("failed");
    expect(o.dependencies).toEqual([{ commandId: sid("ghost"), status: "unknown" }]);
    expect(o.trace.map((t: Data) => t.phase)).toEqual(["accepted", "finished"]);
  });
});
