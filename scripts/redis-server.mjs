/**
 * A real `redis-server` for the tests and the bench (issue #18): Debian's binary (.ci/run installs it when missing),
 * on a free loopback port, with its data in a temp dir, durable as the Redis store expects
 * (`appendonly yes`, `appendfsync always`, no RDB snapshots). No mock.
 *
 * Types: redis-server.d.mts. The tests import it through test/helpers/redis-server.ts.
 *
 *   const redis = await startRedis();          // redis.url = "redis://127.0.0.1:<port>/0"
 *   await redis.restart();                     // SIGKILL, then start again on the same dir + port
 *   await redis.stop();                        // kills it and removes the dir
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const REDIS_SERVER_BIN = process.env.CAUSEWAY_TEST_REDIS_SERVER ?? "redis-server";

/** servers still running: killed when this test process exits, so a failed test never leaves one behind */
const running = new Set();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** Whether a redis-server binary is on this machine (CI installs one; a test file may skip loudly without it). */
export function redisServerAvailable() {
  return spawnSync(REDIS_SERVER_BIN, ["--version"], { stdio: "ignore" }).status === 0;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function launch(port, dir, config) {
  const settings = {
    port: String(port),
    bind: "127.0.0.1",
    dir,
    appendonly: "yes",
    appendfsync: "always",
    save: "",
    daemonize: "no",
    "protected-mode": "yes",
    loglevel: "notice",
    ...config,
  };
  const args = Object.entries(settings).flatMap(([k, v]) => [`--${k}`, ...(Array.isArray(v) ? v : [v])]);
  const child = spawn(REDIS_SERVER_BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  child.once("exit", () => running.delete(child));
  return new Promise((resolve, reject) => {
    let out = "";
    const onData = (chunk) => {
      out += chunk.toString();
      if (out.includes("Ready to accept connections")) {
        child.stdout?.off("data", onData);
        child.stdout?.resume();
        child.off("exit", onExit);
        resolve(child);
      }
    };
    const onExit = (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${out.slice(-2000)}`));
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (c) => (out += c.toString()));
    child.once("exit", onExit);
    child.once("error", reject);
  });
}

function kill(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

/** Start a fresh redis-server (retrying on a port lost to a race). */
export async function startRedis(opts = {}) {
  const dir = mkdtempSync(join(tmpdir(), "causeway-redis-"));
  const config = opts.config ?? {};
  let child;
  let port = 0;
  let lastError;
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    port = await freePort();
    try {
      child = await launch(port, dir, config);
    } catch (e) {
      lastError = e;
    }
  }
  if (!child) throw lastError instanceof Error ? lastError : new Error(String(lastError));
  let current = child;
  return {
    port,
    dir,
    url: (db = 0) => `redis://127.0.0.1:${port}/${db}`,
    pid: () => current.pid ?? -1,
    async restart() {
      await kill(current);
      current = await launch(port, dir, config);
    },
    async stop() {
      await kill(current);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
