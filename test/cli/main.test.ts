/**
 * The built CLI (dist/cli/main.js): startup failures, stdio EOF, signals. Logs on stderr only.
 */
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli as runBuiltCli, spawnServer, tempDir } from "../helpers/spawn.js";

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

const hasIpv6Loopback = Object.values(networkInterfaces()).some((list) => list?.some((a) => a.address === "::1"));

/** The lines of stderr that are not JSON log lines. */
const plainLines = (stderr: string): string[] => stderr.split("\n").filter((l) => l.length > 0 && !l.startsWith("{"));

describe("#19 CLI finish: serve", () => {
  it("#19.b serve logs (info) which journal it opened and whether it created it", async () => {
    const db = join(tempDir(), "fresh", "causeway.db");
    const logged = (lines: string[]): Record<string, unknown> | undefined =>
      lines.map((l) => (l.startsWith("{") ? (JSON.parse(l) as Record<string, unknown>) : {})).find((l) => l.db !== undefined);
    const first = await spawnServer({ db, commands: false });
    expect(logged(first.stderr)).toMatchObject({ level: 30, db, created: true, msg: `created a new journal at ${db}` });
    expect((await first.stop()).code).toBe(0);
    expect(existsSync(db)).toBe(true);
    const second = await spawnServer({ db, commands: false });
    expect(logged(second.stderr)).toMatchObject({ level: 30, db, created: false, msg: `opened journal ${db}` });
    expect((await second.stop()).code).toBe(0);
  });

  it.skipIf(!hasIpv6Loopback)("#19.h an IPv6 listen address is printed in brackets, as a URL clients can use", async () => {
    const server = await spawnServer({ db: ":memory:", commands: false, args: ["--host", "::1"] });
    try {
      const line = server.stderr.find((l) => l.includes("listening on"));
      expect(line).toMatch(/"listening on ws:\/\/\[::1\]:\d+\/"/);
      const url = /(ws:\/\/\[::1\]:\d+\/)/.exec(line!)![1]!;
      const status = await runBuiltCli(["status", "--url", url]);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/^healthy/);
    } finally {
      await server.stop();
    }
  });

  it("#19.i a command module that throws or does not parse is named with its error, no stack, exit 1 (serve and audit)", async () => {
    const dir = tempDir();
    const throwing = join(dir, "throwing.mjs");
    writeFileSync(throwing, 'export const x = 1;\nthrow new Error("boom while importing");\n');
    const syntax = join(dir, "syntax.mjs");
    writeFileSync(syntax, "export const broken = {;\n");
    const cases: Array<[string, string[], RegExp]> = [
      ["serve throwing", ["serve", "--db", ":memory:", "--port", "0", "--commands", throwing], /command module .*throwing\.mjs failed to load: boom while importing$/],
      ["serve syntax", ["serve", "--db", ":memory:", "--port", "0", "--commands", syntax], /command module .*syntax\.mjs failed to load: SyntaxError: Unexpected token ';' \(`node --check .*syntax\.mjs` shows the line of a syntax error\)$/],
      ["serve missing", ["serve", "--db", ":memory:", "--port", "0", "--commands", join(dir, "nope.mjs")], /command module .*nope\.mjs does not exist/],
      ["audit throwing", ["audit", "--db", join(ROOT, "fixtures/journal-v1.db"), "--commands", throwing], /command module .*throwing\.mjs failed to load: boom while importing$/],
    ];
    for (const [label, args, message] of cases) {
      const r = await runBuiltCli(args, { killAfterMs: 30_000 });
      expect(r.code, label).toBe(1);
      const lines = plainLines(r.stderr);
      expect(lines, `${label}: ${r.stderr}`).toHaveLength(1);
      expect(lines[0], label).toMatch(message);
      expect(r.stderr, label).not.toMatch(/^\s+at /m);
    }
  });
});
