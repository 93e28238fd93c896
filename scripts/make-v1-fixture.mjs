#!/usr/bin/env node
/**
 * Builds fixtures/journal-v1.db: a schema-version-1 journal with a small, realistic history. The
 * frozen migration 1 creates the schema and the rows are what SqliteStore materializes for the
 * records below (src/journal/migrations/old-journal.ts). test/journal/migration.test.ts migrates a
 * copy to the latest schema and checks that nothing materialized changed.
 *
 *   npm run build && node scripts/make-v1-fixture.mjs [out.db]
 *
 * The history (all timestamps fixed, from 2026-01-01T00:00:00Z):
 *  - sessions "alpha" and "beta" created by server-scope create_session commands
 *    ("alpha" with idempotency key "create-alpha" in scope "server");
 *  - writes: alpha reaches version 3, beta version 5 (one write carries idempotency key "inc-7"
 *    in scope "session:beta" and one depends on another command);
 *  - a failed command (handler_error, no effect), a timed-out command, a replayed duplicate and a
 *    refused conflicting duplicate;
 *  - session "scratch" created and then deleted;
 *  - one unfinished command: accepted only, never started.
 * Re-running the script rebuilds the same content.
 */
import { outPath, seal, writeOldJournal } from "./old-journal-fixture.mjs";

const out = outPath("journal-v1.db");

const T0 = Date.UTC(2026, 0, 1);
let clock = T0;
let seq = 0;
const laneSeqs = new Map();
const fp = (s) => `sha256:${Buffer.from(s).toString("hex").padEnd(64, "0").slice(0, 64)}`;

function rec(phase, commandId, sessionId, type, extra = {}) {
  const lane = sessionId ? `session:${sessionId}` : "server";
  const laneSeq = (laneSeqs.get(lane) ?? 0) + 1;
  laneSeqs.set(lane, laneSeq);
  clock += 7;
  return {
    seq: ++seq,
    lane,
    laneSeq,
    commandId,
    sessionId,
    phase,
    recordedAt: clock,
    type,
    actor: "conn:127.0.0.1:50123",
    fingerprint: fp(`${type}/${commandId}`),
    ...extra,
  };
}

function accepted(id, sessionId, type, params, extra = {}) {
  return rec("accepted", id, sessionId, type, {
    explicitId: true,
    idempotencyKey: null,
    idempotencyScope: null,
    dependsOn: null,
    ifSessionVersion: null,
    params,
    timeoutMs: 30_000,
    ...extra,
  });
}
const started = (id, sessionId, type) => rec("started", id, sessionId, type, { detail: null });
function finished(id, sessionId, type, status, outcome, extra = {}) {
  return rec("finished", id, sessionId, type, { status, outcome, detail: null, ...extra });
}
const FAR = Date.UTC(2099, 0, 1); // idempotency entries that stay live for the test's lifetime

/** the commits, in order (each one transaction) */
const batches = [];
const store = { commit: (records) => batches.push(records) };

// 1. create alpha (idempotency key) and beta
store.commit([
  accepted("create-alpha", null, "create_session", { sessionId: "alpha" }, {
    idempotencyKey: "create-alpha",
    idempotencyScope: "server",
  }),
  accepted("create-beta", null, "create_session", { sessionId: "beta" }),
]);
store.commit([
  started("create-alpha", null, "create_session"),
  finished("create-alpha", null, "create_session", "succeeded",
    { command: "create_session", success: true, data: { sessionId: "alpha", sessionVersion: 1 }, sessionVersion: 1 },
    { effect: { kind: "create", sessionId: "alpha", state: { count: 0, tags: [] }, version: 1 }, idempotencyExpiresAt: FAR }),
  started("create-beta", null, "create_session"),
  finished("create-beta", null, "create_session", "succeeded",
    { command: "create_session", success: true, data: { sessionId: "beta", sessionVersion: 1 }, sessionVersion: 1 },
    { effect: { kind: "create", sessionId: "beta", state: { count: 100, title: "beta" }, version: 1 }, idempotencyExpiresAt: null }),
]);

// 2. alpha: two increments -> version 3
for (const [i, count] of [[1, 1], [2, 3]]) {
  const id = `alpha-inc-${i}`;
  store.commit([
    accepted(id, "alpha", "increment", { by: count - (i === 1 ? 0 : 1) }, { ifSessionVersion: i }),
    started(id, "alpha", "increment"),
    finished(id, "alpha", "increment", "succeeded",
      { command: "increment", success: true, data: { count }, sessionVersion: i + 1 },
      { effect: { kind: "write", sessionId: "alpha", state: { count, tags: [] }, version: i + 1 } }),
  ]);
}

// 3. beta: four writes -> version 5; one with an idempotency key, one depending on another
const betaWrites = [
  ["beta-w1", { count: 101, title: "beta" }, {}],
  ["beta-w2", { count: 101, title: "beta (renamed)" }, {}],
  ["beta-inc-7", { count: 108, title: "beta (renamed)" }, { idempotencyKey: "inc-7", idempotencyScope: "session:beta" }],
  ["beta-w4", { count: 108, title: "beta (renamed)", note: "after inc-7" }, { dependsOn: ["beta-inc-7"] }],
];
betaWrites.forEach(([id, state, extra], i) => {
  const hasKey = Boolean(extra.idempotencyKey);
  store.commit([
    accepted(id, "beta", "set_state", { patch: state }, extra),
    started(id, "beta", "set_state"),
    finished(id, "beta", "set_state", "succeeded",
      { command: "set_state", success: true, data: state, sessionVersion: i + 2 },
      { effect: { kind: "write", sessionId: "beta", state, version: i + 2 }, idempotencyExpiresAt: hasKey ? FAR : null }),
  ]);
});

// 4. a replayed duplicate of inc-7 and a conflicting reuse of the key
store.commit([
  rec("replayed", "beta-inc-7", "beta", "set_state", {
    outcome: { command: "set_state", success: true, data: betaWrites[2][1], sessionVersion: 4 },
    detail: { source: "idempotency_key", idempotencyKey: "inc-7" },
  }),
  rec("conflict", "beta-inc-7", "beta", "set_state", {
    fingerprint: fp("set_state/other-params"),
    outcome: { command: "set_state", success: false, error: "idempotency key inc-7 was used with different params", code: "replay_conflict" },
    detail: { reason: "fingerprint_mismatch", idempotencyKey: "inc-7" },
  }),
]);

// 5. a failed command and a timed-out one (no effect)
store.commit([
  accepted("alpha-bad", "alpha", "explode", {}),
  started("alpha-bad", "alpha", "explode"),
  finished("alpha-bad", "alpha", "explode", "failed",
    { command: "explode", success: false, error: "handler threw: kaboom", code: "handler_error" }),
  accepted("alpha-slow", "alpha", "sleep", { ms: 60_000 }, { timeoutMs: 50 }),
  started("alpha-slow", "alpha", "sleep"),
  finished("alpha-slow", "alpha", "sleep", "timed_out",
    { command: "sleep", success: false, error: "command timed out after 50 ms", code: "timeout", timedOut: true }),
]);

// 6. a session created and deleted
store.commit([
  accepted("create-scratch", null, "create_session", { sessionId: "scratch" }),
  started("create-scratch", null, "create_session"),
  finished("create-scratch", null, "create_session", "succeeded",
    { command: "create_session", success: true, data: { sessionId: "scratch", sessionVersion: 1 }, sessionVersion: 1 },
    { effect: { kind: "create", sessionId: "scratch", state: {}, version: 1 } }),
  accepted("delete-scratch", null, "delete_session", { sessionId: "scratch" }),
  started("delete-scratch", null, "delete_session"),
  finished("delete-scratch", null, "delete_session", "succeeded",
    { command: "delete_session", success: true, data: { sessionId: "scratch", deleted: true } },
    { effect: { kind: "delete", sessionId: "scratch" } }),
]);

// 7. an unfinished command: accepted, never started (the server "crashed" here)
store.commit([
  accepted("alpha-pending", "alpha", "increment", { by: 10 }, {
    dependsOn: ["alpha-inc-2"],
    ifSessionVersion: 3,
    idempotencyKey: "pending-1",
    idempotencyScope: "session:alpha",
  }),
]);
const written = writeOldJournal(out, 1, batches);
if (written !== 1) throw new Error(`expected schema 1, got ${written}`);

// single self-contained file, compacted
seal(out, ["journal", "commands", "idempotency", "sessions", "lanes", "lease"]);
