/**
 * Issue #14 §4, the shapes a pi-server client reads: the real server (dist/, over WebSocket and
 * stdio) answers pi-server-shaped requests with every field pi-server sends, of pi-server's type
 * (pi-server src/types.ts; its integration test src/test-integration.ts asserts the same), beside
 * causeway's own fields.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Frame } from "../helpers/ws-client.js";
import { tempDir } from "../helpers/spawn.js";
import { startTransport, type TestClient, type TestServer, type TransportKind } from "../helpers/transports.js";
import { join } from "node:path";

type Data = Record<string, any>;
/** A JSON type name, a nested object spec, or an optional field (`?` suffix on the type name). */
type Spec = string | { [key: string]: Spec };

/** Every field of `spec` present in `value` with its type; returns the mismatches (empty: all good). */
function mismatches(value: unknown, spec: { [key: string]: Spec }, at = ""): string[] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return [`${at || "value"}: not an object`];
  const out: string[] = [];
  for (const [key, want] of Object.entries(spec)) {
    const v = (value as Data)[key];
    const path = `${at}${at ? "." : ""}${key}`;
    if (typeof want !== "string") {
      out.push(...mismatches(v, want, path));
      continue;
    }
    const optional = want.endsWith("?");
    const type = optional ? want.slice(0, -1) : want;
    if (v === undefined) {
      if (!optional) out.push(`${path}: missing`);
      continue;
    }
    const got = Array.isArray(v) ? "array" : v === null ? "null" : typeof v;
    if (got !== type) out.push(`${path}: ${got}, not ${type}`);
  }
  return out;
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const INIT_STATES = ["disabled", "pending", "ready", "failed", "timed_out"];

/** pi-server StartupRecoveryData */
const RECOVERY: { [key: string]: Spec } = {
  enabled: "boolean",
  initialized: "boolean",
  initState: "string",
  journalPath: "string",
  schemaVersion: "number",
  entriesScanned: "number",
  malformedEntries: "number",
  unsupportedVersionEntries: "number",
  recoveredOutcomes: "number",
  recoveredOutcomeIds: "array",
  recoveredOutcomeIdsTruncated: "boolean",
  recoveredInFlightFailures: "number",
  recoveredInFlight: "array",
  recoveredInFlightTruncated: "boolean",
  maxItemsReturned: "number",
};

/** pi-server get_metrics data (the key set the digest observed, src/types.ts) */
const METRICS: { [key: string]: Spec } = {
  sessionCount: "number",
  connectionCount: "number",
  pendingConnectionCount: "number",
  totalCommandsExecuted: "number",
  commandsRejected: { sessionLimit: "number", messageSize: "number", rateLimit: "number", globalRateLimit: "number", connectionLimit: "number", extensionUIResponseRateLimit: "number" },
  zombieSessionsDetected: "number",
  zombieSessionsCleaned: "number",
  doubleUnregisterErrors: "number",
  rateLimitUsage: { globalCount: "number", globalLimit: "number" },
  stores: {
    replay: { inFlightCount: "number", outcomeCount: "number", idempotencyCacheSize: "number", maxInFlightCommands: "number", maxCommandOutcomes: "number", inFlightRejections: "number" },
    version: { sessionCount: "number" },
    execution: { laneCount: "number" },
    lock: { activeLocks: "number", timeoutCount: "number", waitingCount: "number", queueFullRejections: "number" },
    extensionUI: { pendingCount: "number", maxPendingRequests: "number", rejectedCount: "number" },
    sessionStore: { metadataResetCount: "number" },
    journal: {
      enabled: "boolean",
      initialized: "boolean",
      journalPath: "string",
      schemaVersion: "number",
      appendFailurePolicy: "string",
      redaction: { beforePersistHookEnabled: "boolean", beforeExportHookEnabled: "boolean" },
      entriesWritten: "number",
      writeErrors: "number",
      entriesScanned: "number",
      malformedEntries: "number",
      unsupportedVersionEntries: "number",
      recoveredOutcomes: "number",
      recoveredInFlightFailures: "number",
      retention: { enabled: "boolean", maxEntries: "number?", maxAgeMs: "number?", maxBytes: "number?" },
      compaction: { runs: "number", droppedEntries: "number", lastCompactionAt: "number?", lastEntriesBefore: "number", lastEntriesAfter: "number", lastBytesBefore: "number", lastBytesAfter: "number" },
    },
  },
  circuitBreakers: "array",
  bashCircuitBreaker: { enabled: "boolean", globalState: "string", globalFailureCount: "number", sessionCount: "number", openSessionCount: "number", totalCalls: "number", totalTimeouts: "number", totalRejected: "number" },
  metrics: { counters: "object", gauges: "object", histograms: "object", recentEvents: "array" },
};

/** pi-server get_command_history data */
const HISTORY: { [key: string]: Spec } = {
  enabled: "boolean",
  initialized: "boolean",
  initState: "string",
  journalPath: "string",
  schemaVersion: "number",
  filters: "object",
  entries: "array",
  returned: "number",
  truncated: "boolean",
  maxItemsReturned: "number",
  maxItemsAllowed: "number",
};

/** pi-server CommandHistoryEntry */
const ENTRY: { [key: string]: Spec } = {
  recordedAt: "number",
  phase: "string",
  commandId: "string",
  commandType: "string",
  laneKey: "string",
  laneSequence: "number",
  fingerprint: "string",
  explicitId: "boolean",
  sessionId: "string?",
  dependsOn: "array?",
  ifSessionVersion: "number?",
  idempotencyKey: "string?",
  success: "boolean?",
  error: "string?",
  sessionVersion: "number?",
  replayed: "boolean?",
  timedOut: "boolean?",
};

/** pi-server SessionInfo.createdAt (an ISO string); causeway keeps the epoch ms as createdAtMs */
function expectSessionInfo(info: Data, sessionId: string): void {
  expect(mismatches(info, { sessionId: "string", createdAt: "string", createdAtMs: "number", sessionVersion: "number" })).toEqual([]);
  expect(info.sessionId).toBe(sessionId);
  expect(info.createdAt).toMatch(ISO);
  expect(Date.parse(info.createdAt)).toBe(info.createdAtMs);
}

describe.each<TransportKind>(["websocket", "stdio"])("#14.4 over %s", (kind) => {
  let server: TestServer;
  let client: TestClient;
  const db = join(tempDir("causeway-shapes-"), "journal.db");
  const run = Date.now().toString(36);

  /** pi-server's harness: a response is matched by id and carries command === type */
  async function send(cmd: Data): Promise<Data> {
    const r = (await client.request(cmd)) as Data;
    expect(r.type).toBe("response");
    expect(r.id).toBe(cmd.id);
    expect(r.command).toBe(cmd.type);
    expect(r.success, JSON.stringify(r)).toBe(true);
    return r.data as Data;
  }

  beforeAll(async () => {
    server = await startTransport(kind, { db });
    client = server.client;
  });

  afterAll(async () => {
    expect((await server?.stop())?.code).toBe(0);
  });

  it("#14.4 server_ready, then startup_recovery_summary in pi-server's redacted form", async () => {
    const ready = await client.waitFor((f) => f.type === "server_ready");
    const info = ready.data as Data;
    expect(typeof info.serverVersion).toBe("string");
    expect(info.protocolVersion).toBe("1.0.0");
    expect(info.transports).toContain(kind);
    const summary = (await client.waitFor((f) => f.type === "startup_recovery_summary")).data as Data;
    expect(client.frames.indexOf(ready as Frame)).toBeLessThan(client.frames.findIndex((f) => f.type === "startup_recovery_summary"));
    expect(mismatches(summary, RECOVERY)).toEqual([]);
    expect(INIT_STATES).toContain(summary.initState);
    expect(summary).toMatchObject({ enabled: true, initialized: true, initState: "ready", journalPath: "[redacted]", recoveredOutcomeIds: [], recoveredInFlight: [] });
  });

  it("#14.4 get_startup_recovery: the full form, with the journal path", async () => {
    const data = await send({ id: `startup-${run}`, type: "get_startup_recovery" });
    expect(mismatches(data, RECOVERY)).toEqual([]);
    expect(data.journalPath).toBe(db);
    expect(data.journalPath).not.toBe("[redacted]");
    expect(data.maxItemsReturned).toBe(100);
    // causeway's own summary stays beside it
    expect(data).toMatchObject({ unfinished: 0, requeued: { count: 0, ids: [], truncated: false } });
  });

  it("#14.4 create_session, session_created, list_sessions and switch_session carry SessionInfo with an ISO-8601 createdAt", async () => {
    const sid = `shape-${kind}-${run}`;
    const created = await send({ id: `${sid}:create`, type: "create_session", sessionId: sid });
    expect(created.sessionId).toBe(sid);
    expectSessionInfo(created.sessionInfo, sid);
    const event = await client.waitFor((f) => f.type === "session_created" && (f.data as Data).sessionId === sid);
    expect((event.data as Data).sessionInfo).toEqual(created.sessionInfo);
    const listed = (await send({ id: `${sid}:list`, type: "list_sessions" })).sessions as Data[];
    const mine = listed.find((s) => s.sessionId === sid)!;
    expectSessionInfo(mine, sid);
    expect(mine.createdAt).toBe(created.sessionInfo.createdAt);
    const switched = await send({ id: `${sid}:switch`, type: "switch_session", sessionId: sid });
    expectSessionInfo(switched.sessionInfo, sid);
    expect(switched.sessionInfo.createdAt).toBe(created.sessionInfo.createdAt);
  });

  it("#14.4 get_command_history {limit:5}: pi-server's fields and entries, newest first, beside causeway's items", async () => {
    const sid = `hist-${kind}-${run}`;
    await send({ id: `${sid}:create`, type: "create_session", sessionId: sid });
    await send({ id: `${sid}:set`, type: "set", sessionId: sid, path: "/a", value: 1, idempotencyKey: `${sid}-k` });
    const data = await send({ id: `command-history-1-${kind}`, type: "get_command_history", limit: 5 });
    expect(mismatches(data, HISTORY)).toEqual([]);
    expect(data).toMatchObject({ enabled: true, initialized: true, initState: "ready", journalPath: db, filters: {}, maxItemsReturned: 5, maxItemsAllowed: 500 });
    expect(data.returned).toBe(data.entries.length);
    expect(data.entries.length).toBeLessThanOrEqual(5);
    expect(data.truncated).toBe(true);
    for (const e of data.entries as Data[]) expect(mismatches(e, ENTRY), JSON.stringify(e)).toEqual([]);
    const recorded = (data.entries as Data[]).map((e) => e.recordedAt as number);
    expect(recorded).toEqual([...recorded].sort((a, b) => b - a));
    // causeway's page of commands is still there
    expect(data.items.length).toBe(data.count);
    expect(data.items.length).toBeLessThanOrEqual(5);

    // pi-server's filters are echoed (absent ones left out) and apply to the entries
    const from = Date.now() - 60_000;
    const bySession = await send({ id: `command-history-2-${kind}`, type: "get_command_history", sessionIdFilter: sid, fromTimestamp: from });
    expect(bySession.filters).toEqual({ sessionIdFilter: sid, fromTimestamp: from });
    expect(bySession.truncated).toBe(false);
    expect((bySession.entries as Data[]).map((e) => [e.commandId, e.phase])).toEqual([
      [`${sid}:set`, "command_finished"],
      [`${sid}:set`, "command_started"],
      [`${sid}:set`, "command_accepted"],
      [`${sid}:create`, "command_finished"],
      [`${sid}:create`, "command_started"],
      [`${sid}:create`, "command_accepted"],
    ]);
    expect(bySession.entries[0]).toMatchObject({ commandType: "set", laneKey: `session:${sid}`, sessionId: sid, explicitId: true, idempotencyKey: `${sid}-k`, success: true, sessionVersion: 1 });
    expect(bySession.entries[0].fingerprint).toMatch(/^v\d:sha256:[0-9a-f]{64}$/);
    const byId = await send({ id: `command-history-3-${kind}`, type: "get_command_history", commandId: `${sid}:set`, limit: 1 });
    expect(byId).toMatchObject({ filters: { commandId: `${sid}:set` }, returned: 1, truncated: true, maxItemsReturned: 1 });
    expect(byId.entries[0]).toMatchObject({ commandId: `${sid}:set`, phase: "command_finished" });
  });

  it("#14.4 health_check: healthy, issues, and pi-server's circuit flags", async () => {
    const data = await send({ id: `health-${kind}-${run}`, type: "health_check" });
    expect(mismatches(data, { healthy: "boolean", issues: "array", hasOpenCircuit: "boolean", hasOpenBashCircuit: "boolean" })).toEqual([]);
    expect(data).toMatchObject({ healthy: true, issues: [], hasOpenCircuit: false, hasOpenBashCircuit: false });
  });

  it("#14.4 get_metrics: every field pi-server sends, beside causeway's figures", async () => {
    const data = await send({ id: `metrics-${kind}-${run}`, type: "get_metrics" });
    expect(mismatches(data, METRICS)).toEqual([]);
    expect(data.connectionCount).toBeGreaterThanOrEqual(1);
    expect(data.sessionCount).toBe(data.sessions);
    expect(data.totalCommandsExecuted).toBeGreaterThanOrEqual(1);
    expect(data.stores.journal).toMatchObject({ enabled: true, initialized: true, journalPath: db, appendFailurePolicy: "fail_closed", retention: { enabled: false } });
    expect(data.circuitBreakers).toEqual([]);
    expect(data.bashCircuitBreaker).toMatchObject({ enabled: false, globalState: "closed" });
    // causeway's own snapshot is still there
    expect(mismatches(data, { uptimeMs: "number", commands: "object", latency: "object", lanes: "object", journal: "object", connections: "object", replays: "object", conflicts: "object", sessions: "number" })).toEqual([]);
  });
});
