/**
 * Issue #3 recovery classification: every command without a terminal outcome gets one journaled,
 * deterministic verdict at startup.
 */
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { defineCommand } from "../../src/commands/define.js";
import { SqliteStore } from "../../src/journal/sqlite-store.js";
import type { JournalRecord, UnfinishedCommand } from "../../src/journal/types.js";
import { classifyRecovery, REASON_RUNNING } from "../../src/engine/recovery.js";
import { CommandRegistry } from "../../src/commands/registry.js";
import { BUILTIN_COMMANDS } from "../../src/commands/builtin/index.js";
import { DEFAULT_LIMITS } from "../../src/config/defaults.js";
import { startInProc } from "../helpers/inproc.js";
import { fingerprint } from "../../src/protocol/fingerprint.js";

const retryable = defineCommand({
  type: "retry_me",
  scope: "session",
  effect: "write",
  retryable: true,
  deterministic: true,
  run(ctx) {
    ctx.state.retried = (ctx.state.retried ?? 0) + 1;
    return { ok: true };
  },
});

/** A journal left behind by a crash: a session, then commands in every unfinished state. */
function crashedJournal(): string {
  const db = join(mkdtempSync(join(tmpdir(), "causeway-rec-")), "journal.db");
  const store = new SqliteStore({ path: db, durability: "full" });
  store.open();
  let seq = 0;
  const laneSeq = new Map<string, number>();
  const row = (r: Omit<JournalRecord, "seq" | "laneSeq" | "recordedAt" | "actor" | "fingerprint"> & { fingerprint?: string }): JournalRecord => {
    const ls = (laneSeq.get(r.lane) ?? 0) + 1;
    laneSeq.set(r.lane, ls);
    return { recordedAt: Date.now() + seq, actor: "local", fingerprint: `fp-${r.commandId}`, ...r, seq: ++seq, laneSeq: ls } as JournalRecord;
  };
  const lane = "session:s";
  store.commit([
    row({ lane: "server", commandId: "create", sessionId: null, phase: "accepted", type: "create_session", params: { sessionId: "s" }, timeoutMs: 30_000 }),
    row({
      lane: "server",
      commandId: "create",
      sessionId: null,
      phase: "finished",
      type: "create_session",
      status: "succeeded",
      outcome: { command: "create_session", success: true, data: { sessionId: "s" } },
      effect: { kind: "create", sessionId: "s", state: {}, version: 0 },
    }),
  ]);
  const accepted = (id: string, type: string, params: Record<string, unknown>): JournalRecord =>
    row({ lane, commandId: id, sessionId: "s", phase: "accepted", type, explicitId: true, fingerprint: fingerprint({ type, sessionId: "s", ...params }), params, timeoutMs: 30_000, idempotencyKey: null, idempotencyScope: null, dependsOn: null, ifSessionVersion: null });
  store.commit([
    accepted("running-set", "set", { path: "/r", value: 1 }),
    row({ lane, commandId: "running-set", sessionId: "s", phase: "started", type: "set" }),
    accepted("running-retry", "retry_me", {}),
    accepted("queued-1", "set", { path: "/q", value: 1 }),
    accepted("queued-2", "set", { path: "/q", value: 2 }),
    accepted("ghost", "no_such_type", {}),
  ]);
  store.commit([row({ lane, commandId: "running-retry", sessionId: "s", phase: "started", type: "retry_me" })]);
  store.close();
  return db;
}

function journalRows(db: string): Array<Record<string, unknown>> {
  const sql = new Database(db, { readonly: true });
  const rows = sql.prepare("SELECT * FROM journal ORDER BY seq").all() as Array<Record<string, unknown>>;
  sql.close();
  return rows.map(({ recorded_at: _r, ...rest }) => rest);
}

describe("startup recovery", () => {
  it("re-queues unstarted commands in order, interrupts running ones, re-runs retryable ones, and reports it (#14.4 in pi-server's fields too)", async () => {
    const db = crashedJournal();
    const server = startInProc({ config: { db }, commands: [retryable] });
    const c = server.connect();
    const summary = (await c.request({ type: "get_startup_recovery" })).data;
    expect(summary).toMatchObject({
      unfinished: 5,
      requeued: { count: 3, ids: ["running-retry", "queued-1", "queued-2"], truncated: false },
      interrupted: { count: 1, ids: ["running-set"] },
      unregistered: { count: 1, ids: ["ghost"] },
      failedUnstarted: { count: 0 },
    });
    expect(summary).toMatchObject({
      enabled: true,
      initialized: true,
      initState: "ready",
      journalPath: db,
      entriesScanned: 5,
      recoveredInFlightFailures: 2,
      recoveredInFlight: [
        { commandId: "running-set", commandType: "set", laneKey: "session:s", lastPhase: "command_started", reason: REASON_RUNNING },
        { commandId: "ghost", commandType: "no_such_type", laneKey: "session:s", lastPhase: "command_accepted", reason: expect.stringContaining("not registered") },
      ],
      recoveredInFlightTruncated: false,
      maxItemsReturned: 100,
    });
    // #14.4 the event on connect is the redacted form: no journal path, no pi-server id lists
    expect(c.frames.find((f) => f.type === "startup_recovery_summary")?.data).toEqual({ ...summary, journalPath: "[redacted]", recoveredInFlight: [], recoveredInFlightTruncated: true });
    const interrupted = await c.request({ type: "set", id: "running-set", sessionId: "s", path: "/r", value: 1 });
    expect(interrupted).toMatchObject({ replayed: true, success: false, code: "interrupted", error: REASON_RUNNING });
    // re-queued commands run in their original lane order: queued-2 wins
    const read = await c.request({ type: "get_state", sessionId: "s" });
    expect(read).toMatchObject({ sessionVersion: 3, data: { state: { retried: 1, q: 2 } } });
    await server.stop();
  });

  it("fails unstarted commands instead when failUnstartedOnRecovery is set", async () => {
    const db = crashedJournal();
    const server = startInProc({ config: { db, failUnstartedOnRecovery: true }, commands: [retryable] });
    const c = server.connect();
    const summary = (await c.request({ type: "get_startup_recovery" })).data;
    expect(summary.failedUnstarted).toMatchObject({ count: 2, ids: ["queued-1", "queued-2"] });
    const r = await c.request({ type: "set", id: "queued-1", sessionId: "s", path: "/q", value: 1 });
    expect(r).toMatchObject({ replayed: true, code: "interrupted" });
    await server.stop();
  });

  it("is deterministic: the same journal gives the same verdict rows and summary; a second boot writes nothing", async () => {
    const db = crashedJournal();
    const copy = join(mkdtempSync(join(tmpdir(), "causeway-rec2-")), "journal.db");
    copyFileSync(db, copy);
    const boot = async (file: string) => {
      const s = startInProc({ config: { db: file, failUnstartedOnRecovery: true } });
      const summary = s.engine.recovery()!;
      await s.stop();
      const { recoveredAt: _t, journalPath: _p, ...rest } = summary;
      return rest;
    };
    const a = await boot(db);
    const b = await boot(copy);
    expect(a).toEqual(b);
    expect(journalRows(db)).toEqual(journalRows(copy));
    const before = journalRows(db);
    const again = await boot(db);
    expect(again.unfinished).toBe(0);
    expect(journalRows(db)).toEqual(before);
  });
});

describe("startup recovery and deadlines", () => {
  it("a re-queued command whose deadline passed while the server was down times out and never starts", async () => {
    const db = join(mkdtempSync(join(tmpdir(), "causeway-rec3-")), "journal.db");
    const store = new SqliteStore({ path: db, durability: "full" });
    store.open();
    const old = Date.now() - 60_000;
    const base = { actor: "local", explicitId: true } as const;
    store.commit([
      { ...base, seq: 1, lane: "server", laneSeq: 1, commandId: "create", sessionId: null, phase: "accepted", recordedAt: old, type: "create_session", fingerprint: "x", params: { sessionId: "s" }, timeoutMs: 30_000 },
      { ...base, seq: 2, lane: "server", laneSeq: 2, commandId: "create", sessionId: null, phase: "finished", recordedAt: old, type: "create_session", fingerprint: "x", status: "succeeded", outcome: { command: "create_session", success: true }, effect: { kind: "create", sessionId: "s", state: {}, version: 0 } },
      { ...base, seq: 3, lane: "session:s", laneSeq: 1, commandId: "stale", sessionId: "s", phase: "accepted", recordedAt: old, type: "set", fingerprint: fingerprint({ type: "set", sessionId: "s", path: "/a", value: 1 }), params: { path: "/a", value: 1 }, timeoutMs: 1_000 },
    ]);
    store.close();
    const server = startInProc({ config: { db } });
    const c = server.connect();
    const r = await c.request({ type: "set", id: "stale", sessionId: "s", path: "/a", value: 1 });
    expect(r).toMatchObject({ replayed: true, code: "timeout", timedOut: true });
    const read = await c.request({ type: "get_state", sessionId: "s" });
    expect(read).toMatchObject({ sessionVersion: 0, data: { state: {} } });
    const phases = new Database(db, { readonly: true }).prepare("SELECT phase FROM journal WHERE command_id = 'stale' ORDER BY seq").all() as Array<{ phase: string }>;
    expect(phases.map((p) => p.phase)).toEqual(["accepted", "requeued", "finished", "replayed"]);
    await server.stop();
  });
});

describe("#15.19 recovery attempts of retryable commands", () => {
  const running = (commandId: string, type: string, starts: number): UnfinishedCommand => ({
    commandId, lane: "session:s", sessionId: "s", type, actor: "local", fingerprint: null, explicitId: true, idempotencyKey: null,
    idempotencyScope: null, dependsOn: null, ifSessionVersion: null, params: {}, timeoutMs: 30_000, acceptedAt: 1, acceptedSeq: starts,
    status: "running", starts, revision: 1, pendingReason: null, governance: null, tags: [], notBefore: null, queuedAt: 1,
  });
  const classify = (unfinished: UnfinishedCommand[], maxRecoveryAttempts: number) => {
    const registry = new CommandRegistry();
    for (const d of [...BUILTIN_COMMANDS, retryable]) registry.register(d);
    const recovered = { sessions: [], laneSeqs: [], lastSeq: 10, unfinished, schemaVersion: 5 };
    return classifyRecovery(recovered, { registry, failUnstarted: false, maxRecoveryAttempts, now: 0, journal: { enabled: true, initialized: true, initState: "ready", journalPath: ":memory:", schemaVersion: 5 }, sessions: 0 }).verdicts;
  };

  it("#15.19 a running retryable command is re-run until recovery re-ran it maxRecoveryAttempts times (default 3), then interrupted naming its attempts", () => {
    const max = DEFAULT_LIMITS.maxRecoveryAttempts;
    expect(max).toBe(3);
    const verdicts = classify([1, 2, 3, 4, 5].map((n) => running(`r${n}`, "retry_me", n)), max);
    expect(verdicts.map((v) => v.kind)).toEqual(["requeue", "requeue", "requeue", "interrupted", "interrupted"]);
    expect(verdicts[3]!.reason).toContain("started 4 times");
    expect(verdicts[3]!.reason).toContain("re-ran it 3 times (maxRecoveryAttempts 3)");
    // 0: never re-run (like a command that is not retryable); not retryable: interrupted at once
    expect(classify([running("r", "retry_me", 1)], 0)[0]!.kind).toBe("interrupted");
    expect(classify([running("s", "set", 1)], max)[0]).toMatchObject({ kind: "interrupted", reason: REASON_RUNNING });
  });
});
