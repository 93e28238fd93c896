/**
 * The built CLI (dist/cli/main.js): startup failures, stdio EOF, signals. Logs on stderr only.
 */
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const CLI = join(ROOT, "dist/cli/main.js");
const run = promisify(execFile);

beforeAll(async () => {
  await run(process.execPath, [join(ROOT, "scripts/build-if-needed.mjs")], { cwd: ROOT, timeout: 120_000 });
}, 120_000);

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], opts: { env?: Record<string, string>; stdin?: string } = {}): Promise<Result> {
  const proc = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  proc.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  proc.stdin.end(opts.stdin ?? "");
  return new Promise((resolvePromise) => proc.once("close", (code) => resolvePromise({ code, stdout, stderr })));
}

describe("causeway CLI", () => {
  it("reports an invalid env value as one clear line and exits 1", async () => {
    const r = await runCli(["serve", "--db", ":memory:"], { env: { CAUSEWAY_PORT: "http" } });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe('causeway: CAUSEWAY_PORT: expected an integer from 0 to 65535, got "http"\n');
  });

  it("reports an invalid config file naming the key and exits 1", async () => {
    const dir = mkdtempSync(join(tmpdir(), "causeway-cli-"));
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ limits: { maxFrameBytes: -5 } }));
    const r = await runCli(["serve", "--config", file]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^causeway: config file .*bad\.json: limits\.maxFrameBytes must be >= 1/);
  });

  it("rejects an invalid choice before starting", async () => {
    const r = await runCli(["serve", "--durability", "sometimes"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/sometimes/);
  });

  it("in stdio mode writes only protocol frames to stdout and exits 0 after stdin EOF", async () => {
    const r = await runCli(["serve", "--stdio", "--db", ":memory:", "--log-level", "debug"], { stdin: '{"type":"health_check","id":"h1"}\n' });
    expect(r.code).toBe(0);
    const frames = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(frames[0]).toMatchObject({ type: "server_ready" });
    expect(frames.find((f) => f.type === "response" && f.id === "h1")).toMatchObject({ success: true });
    expect(r.stderr.length).toBeGreaterThan(0); // the debug logs went to stderr
  });

  it("logs the listening address and exits 0 on SIGTERM", async () => {
    const proc = spawn(process.execPath, [CLI, "serve", "--port", "0", "--db", ":memory:"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    const exited = once(proc, "exit");
    let stdout = "";
    proc.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    const listening = await new Promise<string>((resolvePromise) => {
      createInterface({ input: proc.stderr }).on("line", (line) => {
        const m = /listening on (ws:\/\/127\.0\.0\.1:\d+\/)/.exec(line);
        if (m) resolvePromise(m[1]!);
      });
    });
    const port = Number(/:(\d+)\//.exec(listening)![1]);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(await health.json()).toEqual({ ok: true });
    proc.kill("SIGTERM");
    const [code] = await exited;
    expect(code).toBe(0);
    expect(stdout).toBe("");
  });
});
