/**
 * README's start command: `npm start` builds if needed and serves WebSocket on 127.0.0.1:3141 with
 * the journal under ./data. (The journal path is pointed at a temp dir through CAUSEWAY_DB so the
 * test leaves the checkout alone; the default itself is checked against `serve --help`.)
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { CausewayClient } from "../helpers/ws-client.js";
import { CLI, ROOT, tempDir } from "../helpers/spawn.js";

describe("npm start", () => {
  it("serves ws://127.0.0.1:3141/ and stops cleanly on SIGTERM", async () => {
    const db = join(tempDir(), "start.db");
    const npm = spawn("npm", ["start", "--silent"], { cwd: ROOT, env: { ...process.env, CAUSEWAY_DB: db }, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const exited = new Promise<number | null>((r) => npm.once("exit", (code) => r(code)));
    const stderr: string[] = [];
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: npm.stderr! }).on("line", (line) => {
        stderr.push(line);
        if (line.includes("listening on ws://127.0.0.1:3141/")) resolve();
      });
      void exited.then(() => reject(new Error(`npm start exited:\n${stderr.join("\n")}`)));
    });
    const c = await CausewayClient.connect("ws://127.0.0.1:3141/");
    const ready = await c.waitFor((f) => f.type === "server_ready");
    expect((ready.data as { transports: string[] }).transports).toEqual(["websocket"]);
    const h = await c.request({ type: "health_check" });
    expect(h).toMatchObject({ success: true, data: { healthy: true, journal: { store: "sqlite", durability: "full" } } });
    await c.close();
    process.kill(-npm.pid!, "SIGTERM");
    await exited;
  });

  it("defaults the journal to data/causeway.db", async () => {
    const help = spawn(process.execPath, [CLI, "serve", "--help"], { cwd: ROOT });
    let out = "";
    help.stdout.on("data", (d: Buffer) => (out += d.toString()));
    await new Promise((r) => help.once("exit", r));
    expect(out).toMatch(/--db[\s\S]*default: data\/causeway\.db/);
  });
});
