#!/usr/bin/env node
/**
 * Builds fixtures/traces/*.jsonl: causeway traces produced by a real run of the built server,
 * exported by the real CLI. test/journal/export-import.test.ts and test/integration/export-cli.test.ts
 * import them into empty journals and export them again.
 *
 *   npm run build && node scripts/make-trace-fixtures.mjs
 *
 * The run (WebSocket, fixtures/commands/test-commands.mjs, redaction rules
 * {"login":["/password","outcome:/data/token"],"*":["apiKey"]}), every command with a fixed id:
 *  - sessions "alpha" (idempotency key) and "beta" (initial state); "scratch" created and deleted;
 *  - writes with set / patch, ifSessionVersion (one version_conflict), dependsOn;
 *  - a login (password and token redacted), an emit whose payload carries an apiKey (redacted);
 *  - a handler failure, a timeout, a same-id replay, an idempotency-key replay, a replay_conflict.
 * A second, governed run (tokens for alice/admin, bob and carol/approver, fixtures/governance/
 * policy.test.json, --shutdown-grace-ms 100), every command with a fixed id, over two server runs:
 *  - run 1: a `hold` keeps session "g" busy; a one-approval command approved by bob and a plain
 *    write wait behind it when the server stops (grace elapses: all three unfinished);
 *  - run 2: recovery interrupts the hold and requeues the other two (they run); then a login
 *    (redacted), a rejection, a cancellation, an expiry, a supersede, a scheduled command
 *    (notBefore: released), an onStale renew; g-new and g-renew are left pending, and a last hold
 *    with an approved command behind it are left running / approved.
 * A third run (also loading fixtures/commands/settle-commands.mjs) reaches every rule of
 * src/lifecycle/settle.ts once, every command with a fixed id: a read, writes, a create and a
 * delete, a server command with a target (peek_target) and one without (list_sessions), a refused
 * output, a declared / handler / reserved / undeclared code and a plain Error, an OutcomeError, a
 * server command's failure, and the preconditions version_conflict, session_not_found,
 * dependency_unknown, dependency_failed, dependency_timeout (--dependency-wait-ms 50), a timeout
 * before the start (behind a hold that then times out while running) and, after a kill -9 and a
 * restart with --fail-unstarted-on-recovery, interrupted (a queued command, and the running hold);
 * a third run with --fault-fail-commit 3 gives a running hold and a queued command journal_unavailable
 * repair rows.
 * Outputs:
 *  - basic.jsonl: the whole journal;
 *  - session-alpha.jsonl: `--session alpha` (alpha's lane plus its create_session), whose seq /
 *    laneSeq have gaps: import renumbers it;
 *  - governed.jsonl: the whole governed journal (every phase; statuses pending, approved,
 *    rejected, cancelled, expired, superseded, interrupted …);
 *  - settle.jsonl: the whole journal of the third run (test/audit/settle-fixture.test.ts audits
 *    it: a journal recorded before a change to the settle rule).
 * `node scripts/make-trace-fixtures.mjs governed` rebuilds only governed.jsonl (`basic` only the
 * first two, `settle` only settle.jsonl). Timestamps and the header's exportedAt differ between runs; the shape of the history
 * does not.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "dist/cli/main.js");
const clientModule = join(root, "dist/client/index.js");
if (!existsSync(cli) || !existsSync(clientModule)) {
  console.error("missing dist/: run `npm run build` first");
  process.exit(1);
}
const { connect: open } = await import(clientModule);
const { hashToken } = await import(join(root, "dist/auth/tokens.js"));

const FIXTURE_SECRETS = ["fixture-password-7f3a", "fixture-api-key-91c2"];
const RULES = { login: ["/password", "outcome:/data/token"], "*": ["apiKey"] };

const only = new Set(process.argv.slice(2));
const wanted = (name) => only.size === 0 || only.has(name);
const outDir = join(root, "fixtures/traces");
mkdirSync(outDir, { recursive: true });
const dir = mkdtempSync(join(tmpdir(), "causeway-traces-"));
const config = join(dir, "config.json");
writeFileSync(config, JSON.stringify({ redact: RULES }));

/** Start `causeway serve` on `db`; resolves with its port and a stop() that expects a clean exit. */
async function serve(db, extra = []) {
  const proc = spawn(
    process.execPath,
    [cli, "serve", "--db", db, "--port", "0", "--config", config, "--commands", join(root, "fixtures/commands/test-commands.mjs"), "--log-level", "info", ...extra],
    { cwd: root, stdio: ["ignore", "ignore", "pipe"] },
  );
  const exited = new Promise((r) => proc.once("exit", (code, signal) => r({ code, signal })));
  const port = await new Promise((resolvePort, reject) => {
    createInterface({ input: proc.stderr }).on("line", (line) => {
      const m = /listening on ws:\/\/[^:/]+:(\d+)/.exec(line);
      if (m) resolvePort(Number(m[1]));
    });
    void exited.then((e) => reject(new Error(`server exited early: ${JSON.stringify(e)}`)));
  });
  return {
    port,
    async stop() {
      proc.kill("SIGTERM");
      const exit = await exited;
      if (exit.code !== 0) throw new Error(`server did not exit cleanly: ${JSON.stringify(exit)}`);
    },
    /** kill -9: nothing is drained, nothing is journaled on the way out */
    async crash() {
      proc.kill("SIGKILL");
      await exited;
    },
  };
}

/**
 * A `causeway/client` connection (resolves after server_ready) with what this script needs on top:
 * `request` sends the command as written (no generated idempotencyKey, no retry), `waitFor` /
 * `waitNext` wait on the frames received (every one, or from now on), `terminate` drops the link.
 */
async function connect(port, token) {
  const c = await open(`ws://127.0.0.1:${port}/`, { ...(token ? { token } : {}), reconnect: false, idempotencyKeys: false, timeoutMs: 20_000 });
  const frames = [];
  c.on("frame", (f) => frames.push(f));
  const waitNext = (match, ms = 20_000) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        c.off("frame", on);
        reject(new Error(`no matching frame within ${ms} ms`));
      }, ms);
      const on = (f) => {
        if (!match(f)) return;
        clearTimeout(timer);
        c.off("frame", on);
        resolve(f);
      };
      c.on("frame", on);
    });
  return {
    request: (cmd, timeoutMs) => c.send(cmd, timeoutMs === undefined ? {} : { timeoutMs }),
    waitNext,
    waitFor: (match) => {
      const seen = frames.find(match);
      return seen ? Promise.resolve(seen) : waitNext(match);
    },
    close: () => c.close(),
    terminate: () => c.dropLink(),
  };
}

const check = async (c, cmd, ok) => {
  const r = await c.request(cmd);
  if (!ok(r)) throw new Error(`unexpected response to ${JSON.stringify(cmd)}: ${JSON.stringify(r)}`);
  return r;
};
const ok = (r) => r.success === true;
const code = (want) => (r) => r.code === want;

function exportTo(db, name, extra) {
  const r = spawnSync(process.execPath, [cli, "export", "--db", db, "--config", config, ...extra], { cwd: root, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`export ${extra.join(" ")} failed: ${r.stderr}`);
  for (const s of FIXTURE_SECRETS) if (r.stdout.includes(s)) throw new Error(`secret ${s} leaked into ${name}`);
  writeFileSync(join(outDir, name), r.stdout);
  const n = r.stdout.trim().split("\n").length - 1;
  console.log(`wrote fixtures/traces/${name} (${n} records)`);
}

async function basicRun() {
  const db = join(dir, "journal.db");
  const server = await serve(db);
  const c = await connect(server.port);
  const expect = (cmd, ok) => check(c, cmd, ok);
  await expect({ type: "create_session", id: "create-alpha", sessionId: "alpha", idempotencyKey: "create-alpha" }, ok);
  await expect({ type: "create_session", id: "create-beta", sessionId: "beta", state: { title: "beta", count: 100 } }, ok);
  await expect({ type: "set", id: "alpha-1", sessionId: "alpha", path: "/count", value: 1 }, ok);
  await expect({ type: "patch", id: "alpha-2", sessionId: "alpha", ops: [{ op: "add", path: "/tags", value: ["a"] }], ifSessionVersion: 1 }, ok);
  await expect({ type: "set", id: "alpha-stale", sessionId: "alpha", path: "/count", value: 9, ifSessionVersion: 0 }, code("version_conflict"));
  await expect({ type: "login", id: "alpha-login", sessionId: "alpha", user: "ada", password: FIXTURE_SECRETS[0] }, (r) => ok(r) && typeof r.data?.token === "string");
  await expect({ type: "emit", id: "alpha-emit", sessionId: "alpha", payload: { note: "hello", apiKey: FIXTURE_SECRETS[1] } }, ok);
  await expect({ type: "set", id: "beta-1", sessionId: "beta", path: "/count", value: 101, idempotencyKey: "beta-inc" }, ok);
  await expect({ type: "set", id: "beta-2", sessionId: "beta", path: "/after", value: "alpha-1", dependsOn: ["alpha-1"] }, ok);
  await expect({ type: "fail", id: "beta-fail", sessionId: "beta", message: "deliberate" }, code("handler_error"));
  await expect({ type: "hold", id: "beta-timeout", sessionId: "beta", key: "never", timeoutMs: 50 }, code("timeout"));
  // replays and a conflict
  await expect({ type: "set", id: "alpha-1", sessionId: "alpha", path: "/count", value: 1 }, (r) => r.replayed === true);
  await expect({ type: "set", id: "beta-1-retry", sessionId: "beta", path: "/count", value: 101, idempotencyKey: "beta-inc" }, (r) => r.replayed === true);
  await expect({ type: "set", id: "alpha-1", sessionId: "alpha", path: "/count", value: 2 }, code("replay_conflict"));
  await expect({ type: "login", id: "alpha-login", sessionId: "alpha", user: "ada", password: FIXTURE_SECRETS[0] }, (r) => r.replayed === true);
  // a session created and deleted, and a read
  await expect({ type: "create_session", id: "create-scratch", sessionId: "scratch" }, ok);
  await expect({ type: "set", id: "scratch-1", sessionId: "scratch", path: "/x", value: true }, ok);
  await expect({ type: "delete_session", id: "delete-scratch", sessionId: "scratch" }, ok);
  await expect({ type: "get_state", id: "alpha-read", sessionId: "alpha" }, ok);
  await c.close();
  await server.stop();
  exportTo(db, "basic.jsonl", []);
  exportTo(db, "session-alpha.jsonl", ["--session", "alpha"]);
}

const IDS = { alice: ["admin"], bob: ["approver"], carol: ["approver"] };
const tokenOf = (who) => `${who}-fixture-token-${"x".repeat(32)}`;

async function governedRun() {
  const db = join(dir, "governed.db");
  const tokens = join(dir, "tokens.json");
  writeFileSync(tokens, JSON.stringify({ version: 1, tokens: Object.entries(IDS).map(([actor, roles]) => ({ sha256: hashToken(tokenOf(actor)), actor, roles })) }));
  const args = ["--tokens", tokens, "--policy-file", join(root, "fixtures/governance/policy.test.json"), "--shutdown-grace-ms", "100"];
  const run = async (body) => {
    const server = await serve(db, args);
    const clients = await Promise.all(Object.keys(IDS).map((who) => connect(server.port, tokenOf(who))));
    await body(...clients);
    for (const c of clients) c.terminate();
    await server.stop();
  };
  const pendingEvent = (c, id) => c.waitNext((f) => f.type === "command_pending" && f.data?.commandId === id);
  /** send a governed command; resolves once it is pending, with `final()` for its terminal response */
  const pending = async (c, cmd) => {
    const seen = pendingEvent(c, cmd.id);
    const response = c.request(cmd, 30_000);
    response.catch(() => {}); // g-new, g-renew and g-approved-last never answer before the stop
    await seen;
    return { final: () => response };
  };
  const holdThenWait = async (alice, bob, key, approvedId) => {
    const started = alice.waitNext((f) => f.type === "command_started" && f.data?.commandId === `g-hold-${key}`);
    alice.request({ type: "hold", sessionId: "g", key, id: `g-hold-${key}` }).catch(() => {});
    await started;
    await pending(alice, { type: "set", sessionId: "g", path: `/${approvedId}`, value: 1, tags: ["one-approval"], id: approvedId });
    await check(bob, { type: "approve_command", commandId: approvedId }, (r) => r.data?.status === "approved");
  };

  await run(async (alice, bob) => {
    await check(alice, { type: "create_session", sessionId: "g", id: "g-create" }, ok);
    await holdThenWait(alice, bob, "first", "g-approved");
    alice.request({ type: "set", sessionId: "g", path: "/queued", value: 1, id: "g-queued" }).catch(() => {});
    await alice.waitFor((f) => f.type === "command_accepted" && f.data?.commandId === "g-queued");
  });
  await run(async (alice, bob, carol) => {
    // re-sending the ids attaches to the recovered (requeued) commands
    await check(alice, { type: "set", sessionId: "g", path: "/g-approved", value: 1, tags: ["one-approval"], id: "g-approved" }, ok);
    await check(alice, { type: "set", sessionId: "g", path: "/queued", value: 1, id: "g-queued" }, ok);
    await check(alice, { type: "set", sessionId: "g", path: "/queued", value: 2, id: "g-queued" }, code("replay_conflict"));
    await check(alice, { type: "login", id: "g-login", sessionId: "g", user: "ada", password: FIXTURE_SECRETS[0] }, ok);
    const rejected = await pending(alice, { type: "set", sessionId: "g", path: "/r", value: 1, tags: ["risk:high"], id: "g-rejected" });
    await check(bob, { type: "reject_command", commandId: "g-rejected", reason: "not today" }, ok);
    if ((await rejected.final()).code !== "rejected") throw new Error("g-rejected was not rejected");
    const cancelled = await pending(bob, { type: "set", sessionId: "g", path: "/c", value: 1, tags: ["risk:high"], id: "g-cancelled" });
    await check(alice, { type: "cancel_command", commandId: "g-cancelled", reason: "admin cleanup" }, ok);
    if ((await cancelled.final()).code !== "cancelled") throw new Error("g-cancelled was not cancelled");
    const expired = await pending(bob, { type: "set", sessionId: "g", path: "/e", value: 1, tags: ["quick"], id: "g-expired" });
    if ((await expired.final()).code !== "expired") throw new Error("g-expired did not expire");
    const old = await pending(bob, { type: "set", sessionId: "g", path: "/v", value: 1, tags: ["risk:high"], id: "g-old" });
    await pending(bob, { type: "set", sessionId: "g", path: "/v", value: 2, tags: ["risk:high"], supersedes: "g-old", id: "g-new" });
    if ((await old.final()).code !== "superseded") throw new Error("g-old was not superseded");
    const scheduled = await pending(bob, { type: "set", sessionId: "g", path: "/later", value: 1, notBefore: Date.now() + 200, id: "g-sched" });
    if (!(await scheduled.final()).success) throw new Error("g-sched did not run");
    await pending(alice, { type: "set", sessionId: "g", path: "/renewed", value: 1, tags: ["renewable"], id: "g-renew" });
    await check(bob, { type: "approve_command", commandId: "g-renew" }, ok);
    await check(alice, { type: "set", sessionId: "g", path: "/bump", value: 1, id: "g-bump" }, ok);
    const renewed = pendingEvent(alice, "g-renew");
    await check(carol, { type: "approve_command", commandId: "g-renew" }, ok);
    await renewed;
    // left unfinished at export: a running hold and an approved command behind it
    await holdThenWait(alice, bob, "last", "g-approved-last");
  });
  exportTo(db, "governed.jsonl", []);
}

async function settleRun() {
  const db = join(dir, "settle.db");
  const args = ["--commands", join(root, "fixtures/commands/settle-commands.mjs"), "--dependency-wait-ms", "50"];
  const server = await serve(db, args);
  const c = await connect(server.port);
  const expect = (cmd, ok) => check(c, cmd, ok);
  const failed = (want, version) => (r) => r.code === want && r.sessionVersion === version;
  const startedEvent = (id) => c.waitNext((f) => f.type === "command_started" && f.data?.commandId === id);
  const acceptedEvent = (id) => c.waitNext((f) => f.type === "command_accepted" && f.data?.commandId === id);
  await expect({ type: "create_session", id: "s-create", sessionId: "s", state: { n: 0 } }, (r) => ok(r) && r.sessionVersion === 0);
  await expect({ type: "set", id: "s-write-1", sessionId: "s", path: "/n", value: 1 }, (r) => ok(r) && r.sessionVersion === 1);
  await expect({ type: "set", id: "s-write-2", sessionId: "s", path: "/n", value: 2 }, (r) => ok(r) && r.sessionVersion === 2);
  await expect({ type: "get_state", id: "s-read", sessionId: "s" }, (r) => ok(r) && r.sessionVersion === 2);
  await expect({ type: "peek_target", id: "s-peek", sessionId: "s" }, (r) => ok(r) && r.sessionVersion === 2);
  await expect({ type: "list_sessions", id: "s-list" }, (r) => ok(r) && r.sessionVersion === undefined);
  await expect({ type: "bad_output", id: "s-bad-output", sessionId: "s" }, failed("handler_error", 2));
  await expect({ type: "throw_code", id: "s-code-declared", sessionId: "s", code: "quota_spent", message: "declared" }, failed("quota_spent", 2));
  await expect({ type: "throw_code", id: "s-code-handler", sessionId: "s", code: "patch_failed", message: "a handler code" }, failed("patch_failed", 2));
  await expect({ type: "throw_code", id: "s-code-reserved", sessionId: "s", code: "timeout", message: "reserved" }, failed("handler_error", 2));
  await expect({ type: "throw_code", id: "s-code-undeclared", sessionId: "s", code: "not_declared", message: "undeclared" }, failed("handler_error", 2));
  await expect({ type: "throw_code", id: "s-code-plain", sessionId: "s", message: "plain" }, failed("handler_error", 2));
  await expect({ type: "refuse_outcome", id: "s-outcome", sessionId: "s" }, (r) => r.code === "transition_conflict" && r.command === "refuse_outcome" && r.data?.revision === 2 && r.sessionVersion === 2);
  await expect({ type: "create_session", id: "s-exists", sessionId: "s" }, failed("session_exists", undefined));
  // preconditions: decided without running the handler
  await expect({ type: "set", id: "s-stale", sessionId: "s", path: "/n", value: 9, ifSessionVersion: 0 }, failed("version_conflict", 2));
  await expect({ type: "get_state", id: "x-missing", sessionId: "nope" }, code("session_not_found"));
  await expect({ type: "set", id: "s-dep-unknown", sessionId: "s", path: "/d", value: 1, dependsOn: ["no-such-command"] }, code("dependency_unknown"));
  await expect({ type: "set", id: "s-dep-failed", sessionId: "s", path: "/d", value: 1, dependsOn: ["s-code-plain"] }, code("dependency_failed"));
  const holdStarted = startedEvent("s-hold");
  const hold = c.request({ type: "hold", id: "s-hold", sessionId: "s", key: "never", timeoutMs: 400 });
  await holdStarted;
  await expect({ type: "set", id: "s-queued-timeout", sessionId: "s", path: "/late", value: 1, timeoutMs: 30 }, (r) => r.code === "timeout" && /before it started/.test(r.error));
  if ((await hold).code !== "timeout") throw new Error("s-hold did not time out");
  // a server command deleting its target
  await expect({ type: "create_session", id: "t-create", sessionId: "t" }, ok);
  await expect({ type: "delete_session", id: "t-delete", sessionId: "t" }, (r) => ok(r) && r.sessionVersion === undefined);
  await expect({ type: "set", id: "s-write-3", sessionId: "s", path: "/n", value: 3 }, (r) => ok(r) && r.sessionVersion === 3);
  // dependency_timeout: s-dep-timeout waits (50 ms) for u-dep, queued behind a hold that times out later
  await expect({ type: "create_session", id: "u-create", sessionId: "u" }, ok);
  const uStarted = startedEvent("u-hold");
  const uHold = c.request({ type: "hold", id: "u-hold", sessionId: "u", key: "never", timeoutMs: 300 });
  await uStarted;
  const uAccepted = acceptedEvent("u-dep");
  const uDep = c.request({ type: "set", id: "u-dep", sessionId: "u", path: "/x", value: 1 });
  await uAccepted;
  await expect({ type: "set", id: "s-dep-timeout", sessionId: "s", path: "/d", value: 1, dependsOn: ["u-dep"] }, failed("dependency_timeout", 3));
  if ((await uHold).code !== "timeout" || !(await uDep).success) throw new Error("u-hold / u-dep did not end as planned");
  // interrupted: kill -9 with a hold running and a command queued behind it; the restart fails the
  // unstarted one (--fail-unstarted-on-recovery) and interrupts the running one
  const crashStarted = startedEvent("s-crash-hold");
  c.request({ type: "hold", id: "s-crash-hold", sessionId: "s", key: "never" }).catch(() => {});
  await crashStarted;
  const queued = acceptedEvent("s-interrupted");
  c.request({ type: "set", id: "s-interrupted", sessionId: "s", path: "/never", value: 1 }).catch(() => {});
  await queued;
  c.terminate();
  await server.crash();
  // recovery journals its verdicts before the server listens
  const again = await serve(db, [...args, "--fail-unstarted-on-recovery"]);
  await again.stop();
  // journal_unavailable: the third commit of this run fails; the hold running and the command queued
  // behind it (both durably accepted) get repair rows
  const faulty = await serve(db, [...args, "--fault-fail-commit", "3"]);
  const c3 = await connect(faulty.port);
  const repairStarted = c3.waitNext((f) => f.type === "command_started" && f.data?.commandId === "s-repair-hold");
  const repairHold = c3.request({ type: "hold", id: "s-repair-hold", sessionId: "s", key: "never" });
  await repairStarted;
  const repairQueued = c3.waitNext((f) => f.type === "command_accepted" && f.data?.commandId === "s-repair-queued");
  const repairSet = c3.request({ type: "set", id: "s-repair-queued", sessionId: "s", path: "/r", value: 1 });
  await repairQueued;
  await check(c3, { type: "get_state", id: "x-lost", sessionId: "nope" }, code("journal_unavailable"));
  if ((await repairHold).code !== "journal_unavailable" || (await repairSet).code !== "journal_unavailable") throw new Error("the in-flight commands did not fail with journal_unavailable");
  await c3.close();
  await faulty.stop();
  exportTo(db, "settle.jsonl", []);
  const interrupted = readFileSync(join(outDir, "settle.jsonl"), "utf8").split("\n").filter((l) => l.includes('"phase":"finished"') && l.includes('"code":"interrupted"'));
  if (interrupted.length !== 2) throw new Error(`expected s-crash-hold and s-interrupted to be interrupted, got ${interrupted.length} rows`);
}

if (wanted("basic")) await basicRun();
if (wanted("governed")) await governedRun();
if (wanted("settle")) await settleRun();
rmSync(dir, { recursive: true, force: true });
