/**
 * /metrics (Prometheus, prom-client), /readyz and /healthz on the WebSocket server's HTTP port, and
 * get_metrics / get_lanes / health_check over the protocol: the counters match the commands sent,
 * and both surfaces report the same figures.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CausewayClient, type Frame } from "../helpers/ws-client.js";
import { spawnServer, type SpawnedServer } from "../helpers/spawn.js";
import { scrape, value } from "./prom.js";

let server: SpawnedServer;
let c: CausewayClient;

beforeAll(async () => {
  server = await spawnServer();
  c = await CausewayClient.connect(server.url);
});

afterAll(async () => {
  await c.close();
  expect((await server.stop()).code).toBe(0);
});

describe("/metrics and get_metrics", () => {
  it("count commands by type and outcome, replays, conflicts, latencies and journal commits, the same on both surfaces", async () => {
    await c.request({ type: "create_session", id: "m0", sessionId: "m" });
    for (const i of [1, 2, 3]) expect(await c.request({ type: "set", id: `m${i}`, sessionId: "m", path: `/v${i}`, value: i })).toMatchObject({ success: true });
    expect(await c.request({ type: "fail", id: "mf", sessionId: "m" })).toMatchObject({ success: false, code: "handler_error" });
    expect(await c.request({ type: "get_state", id: "mg", sessionId: "m" })).toMatchObject({ success: true });
    expect(await c.request({ type: "set", id: "m1", sessionId: "m", path: "/v1", value: 1 })).toMatchObject({ replayed: true });
    expect(await c.request({ type: "set", id: "m1", sessionId: "m", path: "/v1", value: "other" })).toMatchObject({ code: "replay_conflict" });
    expect(await c.request({ type: "get_state", sessionId: "nope" })).toMatchObject({ code: "session_not_found" });

    const { status, contentType, samples } = await scrape(server.port);
    expect(status).toBe(200);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const done = (type: string, outcome: string, code = ""): number => value(samples, "causeway_commands_total", { type, outcome, code });
    expect(done("create_session", "succeeded")).toBe(1);
    expect(done("set", "succeeded")).toBe(3);
    expect(done("fail", "failed", "handler_error")).toBe(1);
    expect(done("get_state", "succeeded")).toBe(1);
    expect(done("get_state", "failed", "session_not_found")).toBe(1);
    expect(value(samples, "causeway_commands_accepted_total", { type: "set" })).toBe(3);
    expect(value(samples, "causeway_commands_accepted_total", { type: "get_state" })).toBe(2);
    expect(value(samples, "causeway_replays_total", { type: "set", kind: "replay" })).toBe(1);
    expect(value(samples, "causeway_replay_conflicts_total", { type: "set" })).toBe(1);
    expect(value(samples, "causeway_command_duration_seconds_count", { type: "set" })).toBe(3);
    expect(value(samples, "causeway_command_duration_seconds_bucket", { type: "set", le: "+Inf" })).toBe(3);
    // session_not_found is decided at the lane head: that get_state never started
    expect(value(samples, "causeway_command_queue_wait_seconds_count", { type: "get_state" })).toBe(1);
    expect(value(samples, "causeway_command_queue_wait_seconds_count", { type: "fail" })).toBe(1);
    expect(value(samples, "causeway_connections", { transport: "websocket" })).toBe(1);
    expect(value(samples, "causeway_connections_opened_total", { transport: "websocket" })).toBe(1);
    expect(value(samples, "causeway_sessions")).toBe(1);
    expect(value(samples, "causeway_commands_in_flight")).toBe(0);
    expect(value(samples, "causeway_commands_pending")).toBe(0);
    expect(value(samples, "causeway_journal_healthy")).toBe(1);
    expect(value(samples, "causeway_journal_commit_failures_total")).toBe(0);
    expect(samples.some((s) => s.name === "process_cpu_user_seconds_total")).toBe(true);

    const health = (await c.request({ type: "health_check" })).data;
    // health_check is journaled too: its accepted and started rows came after the scrape
    const lastSeq = (health.journal.lastSeq as number) - 2;
    expect(value(samples, "causeway_journal_last_seq")).toBe(lastSeq);
    // a fresh journal: every row ever committed went through a measured batch
    expect(value(samples, "causeway_journal_commit_batch_rows_sum")).toBe(lastSeq);
    const commits = value(samples, "causeway_journal_commit_seconds_count");
    expect(commits).toBeGreaterThan(0);
    expect(value(samples, "causeway_journal_commit_batch_rows_count")).toBe(commits);

    const m = (await c.request({ type: "get_metrics" })).data;
    // every command is counted, operator reads too (get_metrics itself is still running)
    expect(m.commands.finished).toEqual({
      create_session: { succeeded: 1 },
      set: { succeeded: 3 },
      fail: { failed: 1 },
      get_state: { succeeded: 1, failed: 1 },
      health_check: { succeeded: 1 },
    });
    expect(m.commands.failedByCode).toEqual({ handler_error: 1, session_not_found: 1 });
    expect(m.commands.accepted).toEqual({ create_session: 1, set: 3, fail: 1, get_state: 2, health_check: 1, get_metrics: 1 });
    expect(m.replays).toEqual({ replay: 1, attach: 0, byType: { set: 1 } });
    expect(m.conflicts).toEqual({ total: 1, byType: { set: 1 } });
    expect(m.latency.admissionToFinish.count).toBe(8);
    expect(m.latency.admissionToFinish.buckets["+Inf"]).toBe(8);
    expect(m.latency.queueWait.count).toBe(8);
    expect(m.journal).toMatchObject({ healthy: true, commitFailures: 0 });
    expect(m.journal.rows).toBe(m.journal.lastSeq);
    expect(m.journal.lastSeq).toBeGreaterThan(lastSeq);
    expect(m.journal.commits).toBeGreaterThan(commits);
    expect(m.connections).toEqual({ open: { websocket: 1 }, opened: { websocket: 1 } });
    expect(m.sessions).toBe(1);
    expect(health).toMatchObject({ inFlight: 0, queued: 0, running: 0, pending: 0 });
  });

  it("get_lanes, health_check and the lane gauges show a stuck lane: depth, head, running since, oldest queued age", async () => {
    await c.request({ type: "create_session", sessionId: "stuck" });
    const from = c.frames.length;
    const held = c.request({ type: "hold", id: "stuck-head", sessionId: "stuck", key: "stuck" });
    const queued = [1, 2].map((i) => c.request({ type: "set", id: `stuck-${i}`, sessionId: "stuck", path: "/x", value: i }));
    await c.waitFor((f: Frame) => f.type === "command_started" && (f.data as any).commandId === "stuck-head", undefined, from);
    await c.waitFor((f: Frame) => f.type === "command_accepted" && (f.data as any).commandId === "stuck-2", undefined, from);

    const lanes = await c.request({ type: "get_lanes" });
    expect(lanes).toMatchObject({ success: true, data: { count: 1, total: 1, truncated: false, inFlight: 3, pending: 0 } });
    const lane = lanes.data.lanes[0];
    expect(lane).toMatchObject({ laneKey: "session:stuck", depth: 3, queued: 2, head: { commandId: "stuck-head", type: "hold", status: "running" } });
    expect(lane.runningSince).toBeGreaterThan(0);
    expect(lane.runningSince).toBeLessThanOrEqual(lanes.data.at);
    expect(lane.oldestQueuedAgeMs).toBeGreaterThanOrEqual(0);
    expect(lane.queue.map((q: { commandId: string }) => q.commandId)).toEqual(["stuck-1", "stuck-2"]);
    expect((await c.request({ type: "get_lanes", queuedLimit: 1 })).data.lanes[0].queue).toHaveLength(1);
    expect((await c.request({ type: "get_lanes", laneKey: "server" })).data).toMatchObject({ count: 0, total: 0 });
    expect(await c.request({ type: "get_lanes", limit: 0 })).toMatchObject({ success: false, code: "invalid_command" });
    expect(await c.request({ type: "get_lanes", limit: 1001 })).toMatchObject({ success: false, code: "invalid_command" });

    expect((await c.request({ type: "health_check" })).data).toMatchObject({ inFlight: 3, queued: 2, running: 1, pending: 0, lanes: 1 });
    const { samples } = await scrape(server.port);
    expect(value(samples, "causeway_lane_depth", { state: "queued" })).toBe(2);
    expect(value(samples, "causeway_lane_depth", { state: "running" })).toBe(1);
    expect(value(samples, "causeway_lanes_active")).toBe(1);
    expect(value(samples, "causeway_lane_depth_max")).toBe(3);
    expect(value(samples, "causeway_commands_in_flight")).toBe(3);
    expect((await c.request({ type: "get_metrics" })).data.lanes).toEqual({ active: 1, maxDepth: 3, queued: 2, running: 1 });

    await c.request({ type: "create_session", sessionId: "stuck-release" });
    await c.request({ type: "release", sessionId: "stuck-release", key: "stuck" });
    await Promise.all([held, ...queued]);
    expect((await c.request({ type: "get_lanes" })).data).toMatchObject({ lanes: [], total: 0 });
  });
});

describe("/healthz and /readyz", () => {
  it("/readyz is 200 with every check passing; /healthz is 200; HEAD works; other paths stay 426", async () => {
    const ready = await fetch(`http://127.0.0.1:${server.port}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ok: true, checks: { journalOpen: true, recoveryDone: true, journalHealthy: true, acceptingCommands: true }, warnings: [] });
    expect((await fetch(`http://127.0.0.1:${server.port}/readyz`, { method: "HEAD" })).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(426);
  });

  it("/readyz is 503 naming the failed check while journal commits fail; /healthz stays 200", async () => {
    const s = await spawnServer({ db: undefined, args: ["--fault-fail-commit", "2", "--fault-fail-count", "1000000"] });
    const client = await CausewayClient.connect(s.url);
    await client.request({ type: "create_session", sessionId: "f" });
    expect(await client.request({ type: "set", sessionId: "f", path: "/a", value: 1 })).toMatchObject({ code: "journal_unavailable" });
    const ready = await fetch(`http://127.0.0.1:${s.port}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ok: false, checks: { journalHealthy: false, recoveryDone: true } });
    expect((await fetch(`http://127.0.0.1:${s.port}/healthz`)).status).toBe(200);
    const { samples } = await scrape(s.port);
    expect(value(samples, "causeway_journal_healthy")).toBe(0);
    expect(value(samples, "causeway_journal_commit_failures_total")).toBeGreaterThanOrEqual(1);
    // get_metrics is journaled like every command: while commits fail it fails closed too
    expect(await client.request({ type: "get_metrics" })).toMatchObject({ success: false, code: "journal_unavailable" });
    client.terminate();
    await s.stop("SIGKILL");
  });
});
