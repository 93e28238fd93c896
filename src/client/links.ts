/**
 * A link is one physical connection to a causeway server: a WebSocket, or the stdin/stdout of a
 * spawned `causeway serve --stdio` process. The client reconnects by opening a new link.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import WebSocket from "ws";

export interface LinkEvents {
  frame(text: string): void;
  /** the link is gone (never called after a `close()` the client asked for... it is, once) */
  closed(reason: string): void;
}

export interface Link {
  send(text: string): boolean;
  /** ask for a clean close; resolves when the link is gone */
  close(): Promise<void>;
  /** drop at once (tests, dead peers) */
  terminate(): void;
}

export interface WebSocketLinkOptions {
  headers?: Record<string, string>;
  /** ping the server this often; no pong before the next ping drops the link (0: never) */
  pingIntervalMs: number;
  connectTimeoutMs: number;
}

export function openWebSocketLink(url: string, opts: WebSocketLinkOptions, on: LinkEvents): Promise<Link> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: opts.headers, handshakeTimeout: opts.connectTimeoutMs });
    let opened = false;
    let alive = true;
    let pinger: NodeJS.Timeout | null = null;
    const link: Link = {
      send(text) {
        if (ws.readyState !== WebSocket.OPEN) return false;
        ws.send(text);
        return true;
      },
      close() {
        if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
        return new Promise((r) => {
          ws.once("close", () => r());
          ws.close(1000, "client closing");
          setTimeout(() => ws.terminate(), 2_000).unref();
        });
      },
      terminate() {
        ws.terminate();
      },
    };
    ws.on("message", (data) => on.frame(data.toString()));
    ws.on("pong", () => (alive = true));
    ws.once("open", () => {
      opened = true;
      if (opts.pingIntervalMs > 0) {
        pinger = setInterval(() => {
          if (!alive) return ws.terminate();
          alive = false;
          try {
            ws.ping();
          } catch {
            ws.terminate();
          }
        }, opts.pingIntervalMs);
        pinger.unref();
      }
      resolve(link);
    });
    ws.on("error", (err) => {
      if (!opened) reject(err);
    });
    ws.once("close", (code, reason) => {
      if (pinger) clearInterval(pinger);
      if (opened) on.closed(`websocket closed (${code}${reason.length > 0 ? ` ${reason.toString()}` : ""})`);
    });
  });
}

export interface SpawnLinkOptions {
  /** where the server's stderr (its logs) goes; default "inherit" */
  stderr: "inherit" | "ignore" | "pipe";
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** after close(): how long to wait for the drained server to exit before SIGTERM */
  closeTimeoutMs: number;
  /** called with each spawned child (e.g. to read its piped stderr) */
  onSpawn?: (child: ChildProcess) => void;
}

/** Spawn `command` (a `causeway serve --stdio` command line) and talk JSON lines over its stdio. */
export function openSpawnLink(command: string[], opts: SpawnLinkOptions, on: LinkEvents): Promise<Link> {
  const [file, ...args] = command;
  if (!file) return Promise.reject(new Error("spawn needs a command, e.g. ['causeway', 'serve', '--stdio']"));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["pipe", "pipe", opts.stderr], env: opts.env ?? process.env, cwd: opts.cwd });
    opts.onSpawn?.(child);
    let gone = false;
    // "close" (not "exit"): every line the server wrote has been read by then
    const exited = new Promise<void>((r) => child.once("close", () => r()));
    const link: Link = {
      send(text) {
        if (gone || !child.stdin || child.stdin.destroyed) return false;
        child.stdin.write(text + "\n");
        return true;
      },
      async close() {
        if (gone) return;
        // stdin EOF: the server finishes what is in flight, answers, and exits 0
        child.stdin?.end();
        const t = setTimeout(() => child.kill("SIGTERM"), opts.closeTimeoutMs);
        t.unref();
        await exited;
        clearTimeout(t);
      },
      terminate() {
        child.kill("SIGKILL");
      },
    };
    child.stdin?.on("error", () => {}); // EPIPE after the child died: the exit handler reports it
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.length > 0) on.frame(line);
    });
    child.once("spawn", () => resolve(link));
    child.once("error", (err) => {
      if (!gone) {
        gone = true;
        reject(err);
      }
    });
    child.once("close", (code, signal) => {
      if (gone) return;
      gone = true;
      on.closed(`server process exited (${signal ?? `code ${code}`})`);
    });
  });
}
