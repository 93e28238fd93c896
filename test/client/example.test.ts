/**
 * The todo example (scripts/examples/): the command module served for real, the client script run
 * as a user would (spawned stdio server, and against a WebSocket server), and the resulting
 * journal audited with the module's deterministic handlers re-executed.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, ROOT, spawnServer, tempDir } from "../helpers/spawn.js";

const TODO_COMMANDS = join(ROOT, "scripts/examples/todo-commands.mjs");
const TODO_CLIENT = join(ROOT, "scripts/examples/todo-client.mjs");

function node(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  proc.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => proc.once("close", (code) => resolve({ code, stdout, stderr })));
}

const EXPECTED = [
  { added: [{ id: "t1", text: "milk", done: false }, { id: "t2", text: "eggs", done: false }] },
  { completed: { id: "t1", text: "milk", done: true }, retryReplayed: true },
  { missing: { success: false, code: "invalid_command" } },
  { list: [{ id: "t1", text: "milk", done: true }, { id: "t2", text: "a dozen eggs", done: false }] },
];

describe("todo example", () => {
  it("the client script runs against a spawned stdio server", async () => {
    const r = await node([TODO_CLIENT]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n").map((l) => JSON.parse(l))).toEqual(EXPECTED);
  });

  it("the client script runs against a WebSocket server, and the journal audits clean with the module re-executed", async () => {
    const db = join(tempDir(), "todo.db");
    const server = await spawnServer({ db, commands: false, args: ["--commands", TODO_COMMANDS] });
    const r = await node([TODO_CLIENT, server.url, "shared"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n").map((l) => JSON.parse(l))).toEqual(EXPECTED);
    expect((await server.stop()).code).toBe(0);

    const audit = await node([CLI, "audit", "--db", db, "--commands", TODO_COMMANDS, "--json"]);
    expect(audit.code).toBe(0);
    const report = JSON.parse(audit.stdout);
    expect(report.ok).toBe(true);
    // create_session, 2 adds, rename, complete, the failed complete, list (the replayed retry is not re-run)
    expect(report.reexecution).toMatchObject({ reexecuted: 7, matched: 7, mismatched: 0 });
  });
});
