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
 * Outputs:
 *  - basic.jsonl: the whole journal;
 *  - session-alpha.jsonl: `--session alpha` (alpha's lane plus its create_session), whose seq /
 *    laneSeq have gaps: import renumbers it.
 * Timestamps and the header's exportedAt differ between runs; the shape of the history does not.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
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
const { CausewayClient } = await import(clientModule);

const FIXTURE_SECRETS = ["fixture-password-7f3a", "fixture-api-key-91c2"];
const RULES = { login: ["/password", "outcome:/data/token"], "*": ["apiKey"] };

const dir = mkdtempSync(join(tmpdir(), "causeway-traces-"));
const db = join(dir, "journal.db");
const config = join(dir, "config.json");
writeFileSync(config, JSON.stringify({ redact: RULES }));

const proc = spawn(
  process.execPath,
  [cli, "serve", "--db", db, "--port", "0", "--config", config, "--commands", join(root, "fixtures/commands/test-commands.mjs"), "--log-level", "info"],
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

const c = await CausewayClient.connect(`ws://127.0.0.1:${port}/`);
const expect = async (cmd, check) => {
  const r = await c.request(cmd);
  if (!check(r)) throw new Error(`unexpected response to ${JSON.stringify(cmd)}: ${JSON.stringify(r)}`);
  return r;
};
const ok = (r) => r.success === true;
const code = (want) => (r) => r.code === want;

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
proc.kill("SIGTERM");
const exit = await exited;
if (exit.code !== 0) throw new Error(`server did not exit cleanly: ${JSON.stringify(exit)}`);

const outDir = join(root, "fixtures/traces");
mkdirSync(outDir, { recursive: true });
function exportTo(name, extra) {
  const r = spawnSync(process.execPath, [cli, "export", "--db", db, "--config", config, ...extra], { cwd: root, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`export ${extra.join(" ")} failed: ${r.stderr}`);
  for (const s of FIXTURE_SECRETS) if (r.stdout.includes(s)) throw new Error(`secret ${s} leaked into ${name}`);
  writeFileSync(join(outDir, name), r.stdout);
  return r.stdout.trim().split("\n").length - 1;
}
const basic = exportTo("basic.jsonl", []);
const alpha = exportTo("session-alpha.jsonl", ["--session", "alpha"]);
rmSync(dir, { recursive: true, force: true });
console.log(`wrote fixtures/traces/basic.jsonl (${basic} records) and fixtures/traces/session-alpha.jsonl (${alpha} records)`);
