/**
 * Run the real, built server (dist/cli/main.js) as a child process, as a user would.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

export const ROOT = resolve(import.meta.dirname, "../..");
export const CLI = join(ROOT, "dist/cli/main.js");
export const TEST_COMMANDS = join(ROOT, "fixtures/commands/test-commands.mjs");
/** issue #15 hardening fixtures: bad handler output, large output, a handler that never returns */
export const HARDENING_COMMANDS = join(ROOT, "fixtures/commands/hardening-commands.mjs");

export function tempDir(prefix = "causeway-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnedServer {
  proc: ChildProcess;
  url: string;
  port: number;
  stderr: string[];
  exited: Promise<Exit>;
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

export interface SpawnOptions {
  db?: string;
  args?: string[];
  /** merged over process.env; an undefined value removes the variable */
  env?: Record<string, string | undefined>;
  /** test command module (default: fixtures/commands/test-commands.mjs) */
  commands?: boolean;
  /** working directory (default: the checkout) */
  cwd?: string;
  /** the arguments after `serve`, used as they are (no --db, --commands or --log-level added) */
  serveArgs?: string[];
}

function baseArgs(opts: SpawnOptions): string[] {
  if (opts.serveArgs) return ["serve", ...opts.serveArgs];
  const args = ["serve", "--db", opts.db ?? join(tempDir(), "causeway.db"), "--log-level", "info"];
  if (opts.commands !== false) args.push("--commands", TEST_COMMANDS);
  return [...args, ...(opts.args ?? [])];
}

/** Every child this module started that has not exited yet (reapChildren). */
const running = new Set<ChildProcess>();

function exitPromise(proc: ChildProcess): Promise<Exit> {
  running.add(proc);
  return new Promise((resolve) =>
    proc.once("exit", (code, signal) => {
      running.delete(proc);
      resolve({ code, signal });
    }),
  );
}

/**
 * SIGKILL every child started here that is still running, and wait for their exits. Runs after each
 * test file (test/setup/reap-children.ts): a test that fails before its own cleanup must not leave a
 * server behind for the rest of the run. Returns how many it killed.
 */
export async function reapChildren(): Promise<number> {
  const left = [...running].filter((p) => p.exitCode === null && p.signalCode === null);
  await Promise.all(
    left.map(
      (p) =>
        new Promise<void>((resolve) => {
          p.once("exit", () => resolve());
          p.kill("SIGKILL");
        }),
    ),
  );
  return left.length;
}

/** Start a WebSocket server on an ephemeral port; resolves once it is listening. */
export function spawnServer(opts: SpawnOptions = {}): Promise<SpawnedServer> {
  const proc = spawn(process.execPath, [CLI, ...baseArgs(opts), "--port", "0"], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stderr: string[] = [];
  const exited = exitPromise(proc);
  return new Promise((resolvePromise, reject) => {
    const rl = createInterface({ input: proc.stderr! });
    rl.on("line", (line) => {
      stderr.push(line);
      const m = /listening on ws:\/\/(\[[^\]]+\]|[^:/]+):(\d+)/.exec(line);
      if (m) {
        const port = Number(m[2]);
        resolvePromise({
          proc,
          url: `ws://127.0.0.1:${port}/`,
          port,
          stderr,
          exited,
          stop(signal: NodeJS.Signals = "SIGTERM") {
            if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
            return exited;
          },
        });
      }
    });
    void exited.then((e) => reject(new Error(`server exited before listening (${JSON.stringify(e)}):\n${stderr.join("\n")}`)));
  });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string>;
  /** written to stdin, then closed (default: nothing) */
  stdin?: string;
  cwd?: string;
  /** a command put in front of node (e.g. `setpriv …`); the CLI runs as its last arguments */
  wrapper?: string[];
  /** SIGKILL the command after this long (a test expecting an exit must not hang on a server that started) */
  killAfterMs?: number;
}

/** Run one `causeway` command (dist/cli/main.js) to its exit, as a user would. */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const [file, ...pre] = [...(opts.wrapper ?? []), process.execPath, CLI, ...args];
  const proc = spawn(file!, pre, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdio: ["pipe", "pipe", "pipe"] });
  void exitPromise(proc);
  let stdout = "";
  let stderr = "";
  proc.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  proc.stdin.on("error", () => {}); // a command that never reads stdin may exit first
  proc.stdin.end(opts.stdin ?? "");
  const killer = opts.killAfterMs !== undefined ? setTimeout(() => proc.kill("SIGKILL"), opts.killAfterMs) : undefined;
  return new Promise((resolvePromise) =>
    proc.once("close", (code) => {
      clearTimeout(killer);
      resolvePromise({ code, stdout, stderr });
    }),
  );
}

/** Run the server once and collect its exit and stderr (for startup refusals). */
export async function runServerToExit(opts: SpawnOptions = {}): Promise<Exit & { stderr: string }> {
  const proc = spawn(process.execPath, [CLI, ...baseArgs(opts), "--port", "0"], { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exit = await exitPromise(proc);
  return { ...exit, stderr };
}

export interface StdioServer {
  proc: ChildProcess;
  frames: Array<Record<string, unknown>>;
  stdoutLines: string[];
  stderr: string[];
  exited: Promise<Exit>;
  write(raw: string): void;
  send(obj: object): void;
  waitFor(match: (f: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  request(obj: Record<string, unknown> & { id: string }): Promise<Record<string, unknown>>;
  end(): void;
}

export function spawnStdio(opts: SpawnOptions = {}): StdioServer {
  const proc = spawn(process.execPath, [CLI, ...baseArgs(opts), "--stdio"], { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ["pipe", "pipe", "pipe"] });
  const frames: Array<Record<string, unknown>> = [];
  const stdoutLines: string[] = [];
  const stderr: string[] = [];
  let waiters: Array<{ match: (f: Record<string, unknown>) => boolean; resolve: (f: Record<string, unknown>) => void }> = [];
  createInterface({ input: proc.stdout! }).on("line", (line) => {
    stdoutLines.push(line);
    const f = JSON.parse(line) as Record<string, unknown>;
    frames.push(f);
    waiters = waiters.filter((w) => (w.match(f) ? (w.resolve(f), false) : true));
  });
  createInterface({ input: proc.stderr! }).on("line", (l) => stderr.push(l));
  const exited = exitPromise(proc);
  const waitFor = (match: (f: Record<string, unknown>) => boolean, timeoutMs = 20_000): Promise<Record<string, unknown>> => {
    const hit = frames.find(match);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`stdio: no matching frame within ${timeoutMs} ms; stderr:\n${stderr.join("\n")}`)), timeoutMs);
      waiters.push({ match, resolve: (f) => (clearTimeout(t), resolve(f)) });
    });
  };
  return {
    proc,
    frames,
    stdoutLines,
    stderr,
    exited,
    write: (raw) => proc.stdin!.write(raw),
    send: (obj) => proc.stdin!.write(JSON.stringify(obj) + "\n"),
    waitFor,
    request(obj) {
      const p = waitFor((f) => f.type === "response" && f.id === obj.id);
      proc.stdin!.write(JSON.stringify(obj) + "\n");
      return p;
    },
    end: () => proc.stdin!.end(),
  };
}
