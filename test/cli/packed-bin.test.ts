/**
 * The published package works as a user gets it: `npm pack`, install the tarball into a fresh
 * project, and run the `causeway` bin through npm's symlink in node_modules/.bin.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const TIMEOUT = 120_000;

let work: string;
let project: string;

async function npm(args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  return run("npm", args, { cwd, timeout: TIMEOUT, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: "false" } });
}

beforeAll(async () => {
  // `npm test` builds first (pretest); a direct `vitest run` may not have
  await run(process.execPath, [join(ROOT, "scripts/build-if-needed.mjs")], { cwd: ROOT, timeout: TIMEOUT });
  work = mkdtempSync(join(tmpdir(), "causeway-pack-"));
  await npm(["pack", "--pack-destination", work], ROOT);
  const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"));
  if (!tarball) throw new Error(`npm pack produced no tarball in ${work}`);
  project = join(work, "project");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "causeway-pack-test", version: "1.0.0", private: true }));
  const installArgs = ["install", "--ignore-scripts", "--no-audit", "--no-fund", join(work, tarball)];
  try {
    await npm(["--offline", ...installArgs], project);
  } catch {
    // something is not in the npm cache: allow the registry for what is missing
    await npm(["--prefer-offline", ...installArgs], project);
  }
}, TIMEOUT);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("packed causeway bin", () => {
  it("prints top-level help", async () => {
    const { stdout } = await npm(["exec", "--offline", "causeway", "--", "--help"], project);
    expect(stdout).toMatch(/Usage: causeway/);
    expect(stdout).toMatch(/serve/);
  }, TIMEOUT);

  it("lists every serve option with its default", async () => {
    const { stdout } = await npm(["exec", "--offline", "causeway", "--", "serve", "--help"], project);
    for (const flag of ["--port", "--host", "--path", "--stdio", "--db", "--durability", "--commands", "--config", "--log-level", "--max-frame-bytes", "--timeout", "--dependency-wait-ms", "--idempotency-ttl-ms", "--fail-unstarted-on-recovery", "--shutdown-grace-ms", "--heartbeat-interval-ms", "--ws-max-payload-bytes", "--default-timeout-ms"]) {
      expect(stdout).toContain(flag);
    }
    const flat = stdout.replace(/\s+/g, " ");
    expect(flat).toMatch(/--port <port> .*\(default: 3141; env CAUSEWAY_PORT\)/);
    expect(flat).toMatch(/--max-frame-bytes <bytes> .*\(default: 10485760; env CAUSEWAY_MAX_FRAME_BYTES\)/);
    expect(flat).toContain("default: data/causeway.db");
  }, TIMEOUT);

  it("prints the package version", async () => {
    const { stdout } = await npm(["exec", "--offline", "causeway", "--", "--version"], project);
    expect(stdout.trim()).toBe(VERSION);
  }, TIMEOUT);
});
