/**
 * Synchronous calls into Redis. The Store contract is synchronous (the engine's group committer
 * publishes after commit() returns), so a worker thread owns the ioredis connection
 * (bridge-worker.ts) and the main thread waits for each reply: it posts the request on a
 * MessageChannel, blocks in Atomics.wait on a SharedArrayBuffer until the worker flags the reply,
 * and takes the reply with receiveMessageOnPort. Every call has a timeout; a call that times out
 * (Redis stopped, network gone, worker dead) kills the bridge for good: the store fails closed
 * instead of hanging, and never guesses whether the timed-out write landed.
 */
import { createRequire } from "node:module";
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { BRIDGE_WORKER_SOURCE } from "./bridge-worker.js";

export const DEFAULT_BRIDGE_TIMEOUT_MS = 5_000;

export interface ScriptSpec {
  keys: number;
  lua: string;
}

export interface BridgeOptions {
  url: string;
  /** scripts defined on the connection (ioredis defineCommand: EVALSHA, EVAL on NOSCRIPT) */
  scripts: Record<string, ScriptSpec>;
  timeoutMs?: number;
  /** the first call waits this long (the worker boots and connects); default max(timeoutMs, 15 s) */
  firstCallTimeoutMs?: number;
}

/** The bridge is gone (a call timed out, the worker died) or Redis answered with an error. */
export class BridgeError extends Error {
  constructor(
    message: string,
    /** true when the bridge is dead for good; false for an error of one call */
    readonly fatal: boolean,
    /** Redis answered with this error (the command did not run), as opposed to a lost connection (outcome unknown) */
    readonly reply = false,
  ) {
    super(message);
    this.name = "BridgeError";
  }
}

interface Reply {
  id: number;
  value?: unknown;
  error?: string;
  reply?: boolean;
}

export class RedisBridge {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  /** [0]: a reply is waiting; [1]: the renewed lease was found lost */
  private readonly state: Int32Array;
  private readonly timeoutMs: number;
  private firstTimeoutMs: number | null;
  private nextId = 0;
  private dead: string | null = null;

  constructor(opts: BridgeOptions) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_BRIDGE_TIMEOUT_MS;
    this.firstTimeoutMs = opts.firstCallTimeoutMs ?? Math.max(this.timeoutMs, 15_000);
    const shared = new SharedArrayBuffer(8);
    this.state = new Int32Array(shared);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const ioredis = createRequire(import.meta.url).resolve("ioredis");
    this.worker = new Worker(BRIDGE_WORKER_SOURCE, { eval: true, workerData: { ioredis, url: opts.url, scripts: opts.scripts, state: shared, port: port2 }, transferList: [port2] });
    this.worker.unref();
    this.worker.on("error", (err) => this.kill(`the Redis bridge worker failed: ${err.message}`));
    this.worker.on("exit", (code) => this.kill(`the Redis bridge worker exited (code ${code})`));
  }

  /** Why the bridge is dead, or null. */
  get failure(): string | null {
    return this.dead;
  }

  /** Whether the worker's lease renewal found the lease no longer ours. */
  leaseLost(): boolean {
    return Atomics.load(this.state, 1) === 1;
  }

  /** Run a defined script; its reply. */
  script(name: string, args: Array<string | number>): unknown {
    return this.call({ op: "script", name, args });
  }

  /** Run a plain command, e.g. command("XRANGE", key, from, to, "COUNT", n). */
  command(...args: Array<string | number>): unknown {
    return this.call({ op: "call", args });
  }

  /** Renew a lease every intervalMs with script `name` (args + now); a 0 reply marks the lease lost. */
  startRenewal(name: string, args: Array<string | number>, intervalMs: number): void {
    this.call({ op: "renew", name, args, intervalMs });
  }

  stopRenewal(): void {
    this.call({ op: "stopRenew" });
  }

  /** Quit the connection (bounded by the timeout) and end the worker. */
  close(): void {
    if (!this.dead) {
      try {
        this.call({ op: "quit" });
      } catch {
        // dead already: nothing to quit cleanly
      }
    }
    this.kill("the Redis bridge is closed");
    void this.worker.terminate();
    this.port.close();
  }

  private call(msg: Record<string, unknown>): unknown {
    if (this.dead) throw new BridgeError(this.dead, true);
    const id = ++this.nextId;
    const timeoutMs = this.firstTimeoutMs ?? this.timeoutMs;
    this.firstTimeoutMs = null;
    Atomics.store(this.state, 0, 0);
    this.port.postMessage({ ...msg, id });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = receiveMessageOnPort(this.port)?.message as Reply | undefined;
      if (got?.id === id) {
        if (got.error !== undefined) throw new BridgeError(got.error, false, got.reply === true);
        return got.value;
      }
      if (got) continue; // a late reply of an older call: never happens while alive (calls are sequential)
      const left = deadline - Date.now();
      if (left <= 0 || (Atomics.wait(this.state, 0, 0, left) === "timed-out" && !this.pending())) {
        this.kill(`a Redis call (${String(msg.op)}${msg.name ? ` ${String(msg.name)}` : ""}) got no answer within ${timeoutMs} ms`);
        throw new BridgeError(this.dead!, true);
      }
      Atomics.store(this.state, 0, 0);
    }
  }

  /** A reply arrived right at the deadline. */
  private pending(): boolean {
    return Atomics.load(this.state, 0) === 1;
  }

  private kill(why: string): void {
    this.dead ??= why;
  }
}
