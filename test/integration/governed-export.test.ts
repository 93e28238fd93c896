/**
 * Issue #15 item 6: `causeway export` → `causeway import` of a governed journal. A real governed
 * server (tokens + fixtures/governance/policy.test.json) produces every journal phase and every
 * governance status, across a restart (requeued rows); the journal is exported and imported into a
 * fresh database with the real CLI, and then the two databases must agree: `causeway audit`, and
 * `get_command` / `get_command_history` answered by a server started on each.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import Database from "better-sqlite3";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import type { CausewayClient } from "../helpers/ws-client.js";
import type { JournalRecord } from "../../src/journal/types.js";
import { ROOT, TEST_COMMANDS, runCli, tempDir, type CliResult } from "../helpers/spawn.js";
import { send, sendPending, startGoverned, type Governed, type Reply } from "../governance/harness.js";

beforeAll(async () => {
  await promisify(execFile)(process.execPath, [join(ROOT, "scripts/build-if-needed.mjs")], { cwd: ROOT, timeout: 120_000 });
}, 120_000);

const cli = (args: string[]): Promise<CliResult> => runCli(args);

const SHORT_GRACE = ["--shutdown-grace-ms", "100"];
const commandId = (r: Reply): string => (r.data as { commandId: string }).commandId;

/** First run: a hold keeps the lane busy; a queued and an approved command wait behind it when the server stops. */
async function firstRun(dir: string): Promise<void> {
  const g = await startGoverned({ dir, args: SHORT_GRACE });
  const [alice, bob] = await Promise.all([g.connect("alice"), g.connect("bob")]);
  expect((await send(alice, { type: "create_session", sessionId: "g", id: "g-create" })).success).toBe(true);
  const started = alice.waitNext((f) => f.type === "command_started" && (f.data as { commandId?: string }).commandId === "g-hold");
  void alice.request({ type: "hold", sessionId: "g", key: "never", id: "g-hold" }).catch(() => {});
  await started;
  // approved first, so it reaches the lane head before the queued write moves the session on
  const approvedLater = await sendPending(alice, { type: "set", sessionId: "g", path: "/approved", value: 1, tags: ["one-approval"], id: "g-approved" });
  expect((await send(bob, { type: "approve_command", commandId: commandId(approvedLater.pending) })).data).toMatchObject({ status: "approved" });
  void alice.request({ type: "set", sessionId: "g", path: "/queued", value: 1, id: "g-queued" }).catch(() => {});
  await g.stop(); // grace elapses: the hold, the queued and the approved command stay unfinished
}

/** Second run: recovery requeues; then every decision kind, a schedule, a renewal, replays. */
async function secondRun(dir: string): Promise<void> {
  const g = await startGoverned({ dir, args: SHORT_GRACE });
  const [alice, bob, carol] = await Promise.all([g.connect("alice"), g.connect("bob"), g.connect("carol")]);
  // re-sending the same ids attaches to the recovered commands: their outcomes, once they ran
  expect(await send(alice, { type: "set", sessionId: "g", path: "/queued", value: 1, id: "g-queued" })).toMatchObject({ success: true });
  expect(await send(alice, { type: "set", sessionId: "g", path: "/approved", value: 1, tags: ["one-approval"], id: "g-approved" })).toMatchObject({ success: true });
  expect(await send(alice, { type: "set", sessionId: "g", path: "/queued", value: 2, id: "g-queued" })).toMatchObject({ code: "replay_conflict" });

  const rejected = await sendPending(alice, { type: "set", sessionId: "g", path: "/r", value: 1, tags: ["risk:high"], id: "g-rejected" });
  await send(bob, { type: "reject_command", commandId: "g-rejected", reason: "not today" });
  expect(await rejected.response).toMatchObject({ code: "rejected" });

  const cancelled = await sendPending(bob, { type: "set", sessionId: "g", path: "/c", value: 1, tags: ["risk:high"], id: "g-cancelled" });
  await send(alice, { type: "cancel_command", commandId: "g-cancelled", reason: "admin cleanup" });
  expect(await cancelled.response).toMatchObject({ code: "cancelled" });

  const expired = await sendPending(bob, { type: "set", sessionId: "g", path: "/e", value: 1, tags: ["quick"], id: "g-expired" });
  expect(await expired.response).toMatchObject({ code: "expired" });

  const old = await sendPending(bob, { type: "set", sessionId: "g", path: "/v", value: 1, tags: ["risk:high"], id: "g-old" });
  await sendPending(bob, { type: "set", sessionId: "g", path: "/v", value: 2, tags: ["risk:high"], supersedes: "g-old", id: "g-new" });
  expect(await old.response).toMatchObject({ code: "superseded" });

  const scheduled = await sendPending(bob, { type: "set", sessionId: "g", path: "/later", value: 1, notBefore: Date.now() + 200, id: "g-sched" });
  expect(await scheduled.response).toMatchObject({ success: true });

  await renewal(alice, bob, carol);
  await g.stop(); // g-new and g-renew stay pending
}

async function renewal(alice: CausewayClient, bob: CausewayClient, carol: CausewayClient): Promise<void> {
  await sendPending(alice, { type: "set", sessionId: "g", path: "/renewed", value: 1, tags: ["renewable"], id: "g-renew" });
  await send(bob, { type: "approve_command", commandId: "g-renew" });
  await send(alice, { type: "set", sessionId: "g", path: "/bump", value: 1, id: "g-bump" });
  const renewed = alice.waitNext((f) => f.type === "command_pending" && (f.data as { commandId?: string }).commandId === "g-renew");
  await send(carol, { type: "approve_command", commandId: "g-renew" });
  await renewed;
}

/** What a server started on `dir`/causeway.db answers for every command, and the whole history. */
async function answers(dir: string, ids: string[]): Promise<{ commands: unknown[]; history: unknown }> {
  const g: Governed = await startGoverned({ dir });
  try {
    // an admin reads every command (read visibility, #15.3)
    const reader = await g.connect("alice");
    const commands: unknown[] = [];
    for (const id of ids) commands.push((await send(reader, { type: "get_command", commandId: id })).data);
    // these queries are journaled too (every command is): compare the exported commands only
    const page = (await send(reader, { type: "get_command_history", order: "oldest", limit: 500 })).data as { items: Array<{ commandId: string }> };
    const history = page.items.filter((i) => ids.includes(i.commandId));
    return { commands, history };
  } finally {
    await g.stop();
  }
}

async function audit(db: string): Promise<Record<string, unknown>> {
  const r = await cli(["audit", "--db", db, "--json", "--commands", TEST_COMMANDS]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const { database: _d, durationMs: _t, ...report } = JSON.parse(r.stdout) as Record<string, unknown>;
  return report;
}

/** The materialized tables (governance columns, decisions and tags included), read-only. */
function tables(path: string): Record<string, unknown[]> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const order: Record<string, string> = { journal: "seq", commands: "command_id", decisions: "seq", command_tags: "tag, accepted_seq", idempotency: "scope, key", sessions: "session_id", lanes: "lane" };
    return Object.fromEntries(Object.entries(order).map(([t, by]) => [t, db.prepare(`SELECT * FROM ${t} ORDER BY ${by}`).all()]));
  } finally {
    db.close();
  }
}

describe("#15.6 export / import of governed journals", () => {
  it("#15.6 every phase and governance status (pending, approved, rejected, cancelled, expired, superseded, released, renewed, requeued) survives causeway export → causeway import", async () => {
    const srcDir = tempDir("causeway-gov-src-");
    const src = join(srcDir, "causeway.db");
    await firstRun(srcDir);
    await secondRun(srcDir);

    const exported = await cli(["export", "--db", src]);
    expect(exported.code).toBe(0);
    const lines = exported.stdout.trim().split("\n");
    const recs = lines.slice(1).map((l) => JSON.parse(l) as JournalRecord);
    const phases = new Set(recs.map((r) => r.phase));
    for (const p of ["accepted", "started", "finished", "replayed", "conflict", "requeued", "pending", "approval", "approved", "released", "renewed"]) expect(phases, p).toContain(p);
    const statuses = new Set(recs.map((r) => r.status));
    for (const s of ["pending", "approved", "rejected", "cancelled", "expired", "superseded", "interrupted", "succeeded"]) expect(statuses, s).toContain(s);

    const dstDir = tempDir("causeway-gov-dst-");
    const dst = join(dstDir, "causeway.db");
    const trace = join(dstDir, "trace.jsonl");
    writeFileSync(trace, exported.stdout);
    const imported = await cli(["import", trace, "--db", dst]);
    expect(imported.stderr).toBe("");
    expect(imported.code).toBe(0);
    expect(imported.stdout).toMatch(/2 unfinished: a server started on it will recover them/);
    // the imported journal exports to the same rows, byte for byte
    expect((await cli(["export", "--db", dst])).stdout.trim().split("\n").slice(1)).toEqual(lines.slice(1));

    expect(tables(dst)).toEqual(tables(src));
    expect(await audit(dst)).toEqual(await audit(src));
    const ids = [...new Set(recs.filter((r) => r.phase === "accepted").map((r) => r.commandId))];
    const before = await answers(srcDir, ids);
    const after = await answers(dstDir, ids);
    expect(after).toEqual(before);
    const byId = new Map(ids.map((id, i) => [id, before.commands[i] as { command: { status: string } }]));
    expect(Object.fromEntries([...byId].map(([id, c]) => [id, c.command.status]))).toMatchObject({
      "g-hold": "interrupted",
      "g-queued": "succeeded",
      "g-approved": "succeeded",
      "g-rejected": "rejected",
      "g-cancelled": "cancelled",
      "g-expired": "expired",
      "g-old": "superseded",
      "g-new": "pending",
      "g-sched": "succeeded",
      "g-renew": "pending",
    });
  }, 120_000);
});
