// Start `causeway serve` as its own process (the client load never shares its event loop).
// BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=bench/profiles") is passed to that node process.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { procMem } from "./stats.mjs";

export const CLI = fileURLToPath(new URL("../../../dist/cli/main.js", import.meta.url));
export const nodeArgs = () => (process.env.BENCH_NODE_ARGS ?? "").split(/\s+/).filter(Boolean);

/**
 * Spawn a server. Resolves once it is ready: the "listening on ws://…" log line (WebSocket) or the
 * first stdout frame, `server_ready` (stdio). `readyMs` is spawn → ready, wall clock.
 */
export function startServer({ db, durability = "full", stdio = false, args = [], label = "server" } = {}) {
  const argv = [...nodeArgs(), CLI, "serve", "--db", db, "--durability", durability, "--log-level", "info", ...(stdio ? ["--stdio"] : ["--port", "0"]), ...args];
  const t0 = performance.now();
  const child = spawn(process.execPath, argv, { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    let done = false;
    const fail = (why) => {
      if (done) return;
      done = true;
      child.kill("SIGKILL");
      reject(new Error(`${label}: ${why}\n${stderr.slice(-2000)}`));
    };
    const timer = setTimeout(() => fail("not ready within 120 s"), 120_000);
    const ready = (extra) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ child, pid: child.pid, readyMs: performance.now() - t0, exited, stderr: () => stderr, mem: () => procMem(child.pid), stop: () => stop(child, exited), kill: () => kill(child, exited), ...extra });
    };
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (s) => {
      stderr = (stderr + s).slice(-100_000);
      if (!stdio) {
        const m = /listening on ws:\/\/([^:"]+):(\d+)(\/[^"]*)/.exec(stderr);
        if (m) ready({ url: `ws://${m[1]}:${m[2]}${m[3]}`, port: Number(m[2]) });
      }
    });
    if (stdio) child.stdout.once("data", (first) => ready({ firstChunk: first }));
    exited.then(({ code, signal }) => fail(`exited before ready (code ${code}, signal ${signal})`));
  });
}

async function stop(child, exited) {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const r = await exited;
  clearTimeout(t);
  return r;
}

async function kill(child, exited) {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  return exited;
}
