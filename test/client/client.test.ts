/**
 * causeway/client against the real server (child process): generated identity, typed calls,
 * client-side timeouts and AbortSignal, and the reconnect path: a connection dropped mid-flight
 * (TCP proxy cut), a server killed with SIGKILL and restarted, a spawned stdio server killed and
 * respawned. In every case each command executes exactly once and events resume with no gap.
 */
import { once } from "node:events";
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientError, CommandFailedError, connect, type CausewayConnection, type Response } from "../../src/client/index.js";
import { CausewayClient } from "../helpers/ws-client.js";
import { startProxy } from "../helpers/proxy.js";
import { CLI, spawnServer, tempDir, TEST_COMMANDS, type SpawnedServer } from "../helpers/spawn.js";

const FAST_RECONNECT = { initialDelayMs: 20, maxDelayMs: 250 };

/** Resolves with the first frame the client reads from now on that matches. */
function nextFrame(client: CausewayConnection, match: (f: Record<string, any>) => boolean): Promise<Record<string, any>> {
  return new Promise((resolve) => {
    const on = (f: Record<string, any>): void => {
      if (!match(f)) return;
      client.off("frame", on);
      resolve(f);
    };
    client.on("frame", on);
  });
}

/** Resolves once `count` frames matching have been read (counting from now). */
function frames(client: CausewayConnection, match: (f: Record<string, any>) => boolean, count: number): Promise<void> {
  return new Promise((resolve) => {
    let n = 0;
    const on = (f: Record<string, any>): void => {
      if (!match(f) || ++n < count) return;
      client.off("frame", on);
      resolve();
    };
    client.on("frame", on);
  });
}

async function startedRows(client: CausewayConnection, commandId: string): Promise<number> {
  const d = await client.call({ type: "get_command", commandId });
  expect(d.found, commandId).toBe(true);
  return (d.trace as Array<{ phase: string }>).filter((t) => t.phase === "started").length;
}

let server: SpawnedServer;

beforeAll(async () => {
  server = await spawnServer();
});

afterAll(async () => {
  expect((await server.stop()).code).toBe(0);
});

describe("causeway/client over WebSocket", () => {
  it("generates id and idempotencyKey, returns typed responses, and call() throws CommandFailedError", async () => {
    const c = await connect(server.url);
    expect(c.server?.protocolVersion).toBe("1.0.0");
    const created = await c.send({ type: "create_session", sessionId: "basic" });
    expect(created).toMatchObject({ type: "response", success: true, command: "create_session" });
    expect(created.id).toMatch(/^c-[0-9a-f-]{36}$/);
    const set = await c.call({ type: "set", sessionId: "basic", path: "/a", value: 1 });
    expect(set).toEqual({ path: "/a" });
    const detail = await c.call({ type: "get_command", commandId: created.id });
    expect((detail.command as { idempotencyKey?: string }).idempotencyKey).toMatch(/^k-[0-9a-f-]{36}$/);
    const err = await c.call({ type: "get_state", sessionId: "nope" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandFailedError);
    expect((err as CommandFailedError).code).toBe("session_not_found");
    await c.close();
    await expect(c.send({ type: "health_check" })).rejects.toMatchObject({ code: "closed" });
  });

  it("events({sessionId}) starts from now and yields only that session's lane, in seq order", async () => {
    const c = await connect(server.url);
    await c.call({ type: "create_session", sessionId: "ev-a" });
    await c.call({ type: "create_session", sessionId: "ev-b" });
    const events = c.events({ sessionId: "ev-a" });
    await c.call({ type: "set", sessionId: "ev-b", path: "/x", value: 1 });
    const mine = await c.send({ type: "set", sessionId: "ev-a", path: "/x", value: 2 });
    const got = [];
    for await (const ev of events) {
      got.push(ev);
      if (got.length === 3) break;
    }
    expect(got.map((e) => [e.type, e.data.commandId, e.data.laneKey])).toEqual([
      ["command_accepted", mine.id, "session:ev-a"],
      ["command_started", mine.id, "session:ev-a"],
      ["command_finished", mine.id, "session:ev-a"],
    ]);
    expect(got[1]!.data.seq).toBeGreaterThan(got[0]!.data.seq);
    await c.close();
  });

  it("refuses to connect to a server that is not there", async () => {
    await expect(connect("ws://127.0.0.1:1/", { connectTimeoutMs: 2_000 })).rejects.toMatchObject({ name: "ClientError", code: "connect_failed" });
  });

  it("a client-side timeout rejects with the command's identity; re-sending that identity answers without a second run", async () => {
    const c = await connect(server.url);
    await c.call({ type: "create_session", sessionId: "slow" });
    const err = (await c.send({ type: "hold", sessionId: "slow", key: "slow-1" }, { timeoutMs: 50 }).catch((e: unknown) => e)) as ClientError;
    expect(err).toBeInstanceOf(ClientError);
    expect(err.code).toBe("timeout");
    expect(err.id).toMatch(/^c-/);
    expect(err.idempotencyKey).toMatch(/^k-/);
    await c.call({ type: "create_session", sessionId: "slow-release" });
    await c.call({ type: "release", sessionId: "slow-release", key: "slow-1" });
    const again = await c.send({ type: "hold", sessionId: "slow", key: "slow-1", id: err.id!, idempotencyKey: err.idempotencyKey! });
    // answered by the original execution's response or by the replay of it, whichever comes first
    expect(again).toMatchObject({ id: err.id, success: true, data: { released: "slow-1" } });
    expect(await startedRows(c, err.id!)).toBe(1);
    await c.close();
  });

  it("AbortSignal: aborting rejects with code aborted; an already aborted signal never sends", async () => {
    const c = await connect(server.url);
    await c.call({ type: "create_session", sessionId: "abort" });
    const ac = new AbortController();
    const p = c.send({ type: "hold", sessionId: "abort", key: "abort-1" }, { signal: ac.signal });
    await nextFrame(c, (f) => f.type === "command_started" && f.data.commandType === "hold");
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: "aborted" });
    await expect(c.send({ type: "set", id: "never-sent", sessionId: "abort", path: "/x", value: 1 }, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: "aborted" });
    await c.call({ type: "create_session", sessionId: "abort-release" });
    await c.call({ type: "release", sessionId: "abort-release", key: "abort-1" });
    expect(await c.call({ type: "get_command", commandId: "never-sent" })).toMatchObject({ found: false });
    expect(c.unanswered).toBe(0);
    await c.close();
  });
});

describe("reconnect and retry", () => {
  it("a connection dropped mid-flight: unanswered commands are re-sent with the same identity and execute once", async () => {
    const proxy = await startProxy(server.port);
    const c = await connect(proxy.url, { reconnect: FAST_RECONNECT });
    const helper = await CausewayClient.connect(server.url);
    await c.call({ type: "create_session", sessionId: "drop" });
    const accepted = frames(c, (f) => f.type === "command_accepted" && f.data.sessionId === "drop", 4);
    const started = nextFrame(c, (f) => f.type === "command_started" && f.data.commandType === "hold");
    const held = c.send({ type: "hold", sessionId: "drop", key: "drop-1" });
    const effects = [1, 2, 3].map(() => c.send({ type: "side_effect", sessionId: "drop", n: 1 }));
    await Promise.all([accepted, started]);
    expect(c.unanswered).toBe(4);

    const reconnected = once(c, "reconnect");
    proxy.cut();
    await reconnected;
    expect(c.reconnects).toBe(1);
    await helper.request({ type: "create_session", sessionId: "drop-release" });
    await helper.request({ type: "release", sessionId: "drop-release", key: "drop-1" });

    const responses: Response[] = await Promise.all([held, ...effects]);
    for (const r of responses) expect(r).toMatchObject({ success: true, replayed: true });
    expect(responses[3]).toMatchObject({ data: { total: 3 } });
    const state = await c.call({ type: "get_state", sessionId: "drop" });
    expect(state.state).toMatchObject({ sideEffects: 3, released: "drop-1" });
    for (const r of responses) expect(await startedRows(c, r.id)).toBe(1);
    expect(proxy.accepted).toBe(2);
    await c.close();
    await helper.close();
    await proxy.close();
  });

  it("events({fromSeq}) resumes after a dropped connection with no gap and no duplicate", async () => {
    const proxy = await startProxy(server.port);
    const c = await connect(proxy.url, { reconnect: FAST_RECONNECT });
    const writer = await CausewayClient.connect(server.url);
    const seen: number[] = [];
    let notify = (): void => {};
    const until = (pred: () => boolean): Promise<void> =>
      new Promise((resolve) => {
        if (pred()) return resolve();
        notify = () => {
          if (pred()) resolve();
        };
      });
    const events = c.events({ fromSeq: 0 });
    const consumer = (async () => {
      for await (const ev of events) {
        seen.push(ev.data.seq);
        notify();
      }
    })();

    await writer.request({ type: "create_session", sessionId: "gap" });
    await Promise.all(Array.from({ length: 20 }, (_, i) => writer.request({ type: "set", sessionId: "gap", path: `/a${i}`, value: i })));
    await until(() => seen.length >= 10);
    const reconnected = once(c, "reconnect");
    proxy.cut();
    await Promise.all(Array.from({ length: 20 }, (_, i) => writer.request({ type: "set", sessionId: "gap", path: `/b${i}`, value: i })));
    await reconnected;
    await Promise.all(Array.from({ length: 5 }, (_, i) => writer.request({ type: "set", sessionId: "gap", path: `/c${i}`, value: i })));
    const health = await writer.request({ type: "health_check" });
    const last = health.data.journal.lastSeq as number;
    await until(() => seen.length > 0 && seen[seen.length - 1]! >= last);
    await events.return!();
    await consumer;
    // health_check is journaled too: its own finished row may follow `last`
    expect(seen.length).toBeGreaterThanOrEqual(last);
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));
    expect(c.reconnects).toBe(1);
    await c.close();
    await writer.close();
    await proxy.close();
  });

  it("a server killed with SIGKILL and restarted: re-sent commands are answered from the journal, nothing runs twice", async () => {
    const db = join(tempDir(), "kill.db");
    const s1 = await spawnServer({ db });
    const proxy = await startProxy(s1.port);
    const c = await connect(proxy.url, { reconnect: FAST_RECONNECT });
    await c.call({ type: "create_session", sessionId: "k" });
    const accepted = frames(c, (f) => f.type === "command_accepted" && f.data.sessionId === "k", 3);
    const started = nextFrame(c, (f) => f.type === "command_started" && f.data.commandId === "k-hold");
    const held = c.send({ type: "hold", id: "k-hold", sessionId: "k", key: "never" });
    const effects = [1, 2].map((i) => c.send({ type: "side_effect", id: `k-fx-${i}`, sessionId: "k", n: 1 }));
    await Promise.all([accepted, started]);
    const disconnected = once(c, "disconnect");
    await s1.stop("SIGKILL");
    await disconnected;
    const s2 = await spawnServer({ db });
    proxy.target = s2.port;
    // the hold was running when the server died: recovery failed it `interrupted`; the re-send replays that
    expect(await held).toMatchObject({ id: "k-hold", success: false, code: "interrupted", replayed: true });
    // the side effects had only been accepted: recovery re-queued them; each ran once after the restart
    const fx = await Promise.all(effects);
    for (const r of fx) expect(r).toMatchObject({ success: true });
    expect((await c.call({ type: "get_state", sessionId: "k" })).state).toMatchObject({ sideEffects: 2 });
    for (const id of ["k-fx-1", "k-fx-2"]) expect(await startedRows(c, id)).toBe(1);
    await c.close();
    await proxy.close();
    expect((await s2.stop()).code).toBe(0);
  });
});

describe("causeway/client with a spawned stdio server", () => {
  it("connect({spawn}) talks JSON lines; a killed server is respawned and unanswered commands are re-sent", async () => {
    const db = join(tempDir(), "stdio.db");
    const children: ChildProcess[] = [];
    const c = await connect(
      { spawn: [process.execPath, CLI, "serve", "--stdio", "--db", db, "--commands", TEST_COMMANDS] },
      { stderr: "ignore", onSpawn: (child) => children.push(child), reconnect: FAST_RECONNECT },
    );
    expect(c.server?.transports).toEqual(["stdio"]);
    await c.call({ type: "create_session", sessionId: "io" });
    const accepted = frames(c, (f) => f.type === "command_accepted" && f.data.sessionId === "io", 2);
    const started = nextFrame(c, (f) => f.type === "command_started" && f.data.commandId === "io-hold");
    const held = c.send({ type: "hold", id: "io-hold", sessionId: "io", key: "never" });
    const fx = c.send({ type: "side_effect", id: "io-fx", sessionId: "io", n: 5 });
    await Promise.all([accepted, started]);
    const reconnected = once(c, "reconnect");
    children[0]!.kill("SIGKILL");
    await reconnected;
    expect(children).toHaveLength(2);
    expect(await held).toMatchObject({ code: "interrupted", replayed: true });
    expect(await fx).toMatchObject({ success: true, data: { total: 5 } });
    expect(await startedRows(c, "io-fx")).toBe(1);
    const exited = once(children[1]!, "exit");
    await c.close();
    expect((await exited)[0]).toBe(0);
  });
});
