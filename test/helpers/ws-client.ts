/**
 * The tests' low-level causeway WebSocket client: request/response matching by `id`, an event log
 * with predicate waits, and raw frame access. Not part of `causeway/client` (that is `connect()`).
 */
import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import type { ResponseFrame } from "../../src/protocol/types.js";

export interface Frame {
  type: string;
  [k: string]: unknown;
}

/** A response as the client sees it: `data` is whatever the command returned. */
export type ClientResponse = Omit<ResponseFrame, "data"> & { data?: any };

interface Waiter {
  match: (f: Frame) => boolean;
  exclusive?: boolean;
  resolve: (f: Frame) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class CausewayClient {
  /** every frame received, in order */
  readonly frames: Frame[] = [];
  /** the raw text of every frame received, index-aligned with `frames` */
  readonly raw: string[] = [];
  private waiters: Waiter[] = [];
  private counter = 0;
  /** ids must be unique across clients: every command, reads included, is journaled by its id */
  private readonly tag = randomBytes(4).toString("hex");
  private closedPromise: Promise<{ code: number; reason: string }>;

  private constructor(private readonly ws: WebSocket, readonly defaultTimeoutMs: number) {
    ws.on("message", (data) => {
      const text = data.toString();
      const frame = JSON.parse(text) as Frame;
      this.raw.push(text);
      this.frames.push(frame);
      // a response answers ONE request: two requests sent with the same id (a retry) get the
      // original response and the replay in turn; other waiters see every matching frame
      let consumed = false;
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(frame) || (w.exclusive && consumed)) return true;
        if (w.exclusive) consumed = true;
        clearTimeout(w.timer);
        w.resolve(frame);
        return false;
      });
    });
    this.closedPromise = new Promise((resolve) => {
      ws.on("close", (code, reason) => {
        for (const w of this.waiters) {
          clearTimeout(w.timer);
          w.reject(new Error(`connection closed (${code}) while waiting`));
        }
        this.waiters = [];
        resolve({ code, reason: reason.toString() });
      });
    });
  }

  static connect(url: string, opts: { timeoutMs?: number; headers?: Record<string, string> } = {}): Promise<CausewayClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, opts.headers ? { headers: opts.headers } : undefined);
      const client = new CausewayClient(ws, opts.timeoutMs ?? 20_000);
      ws.once("open", () => resolve(client));
      ws.once("error", reject);
    });
  }

  get closed(): Promise<{ code: number; reason: string }> {
    return this.closedPromise;
  }

  get readyState(): number {
    return this.ws.readyState;
  }

  nextId(prefix = "c"): string {
    return `${prefix}${++this.counter}-${this.tag}`;
  }

  /** Send a raw frame (string as-is, objects JSON-encoded). */
  sendRaw(frame: string | object): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Send a command; resolves with the response carrying its id (an id is generated if missing). */
  request(cmd: Record<string, unknown>, timeoutMs?: number): Promise<ClientResponse> {
    const id = (cmd.id as string | undefined) ?? this.nextId();
    const p = this.waitNext((f) => f.type === "response" && f.id === id, timeoutMs, true);
    this.sendRaw({ ...cmd, id });
    return p as unknown as Promise<ClientResponse>;
  }

  /** Resolves with the first frame (already received or future) matching `match`. */
  waitFor(match: (f: Frame) => boolean, timeoutMs?: number, fromIndex = 0): Promise<Frame> {
    for (let i = fromIndex; i < this.frames.length; i++) if (match(this.frames[i]!)) return Promise.resolve(this.frames[i]!);
    return this.waitNext(match, timeoutMs);
  }

  /** Resolves with the next frame received from now on matching `match`. */
  waitNext(match: (f: Frame) => boolean, timeoutMs?: number, exclusive = false): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const ms = timeoutMs ?? this.defaultTimeoutMs;
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new Error(`no matching frame within ${ms} ms`));
      }, ms);
      this.waiters.push({ match, resolve, reject, timer, exclusive });
    });
  }

  events(type?: string, commandId?: string): Frame[] {
    return this.frames.filter((f) => (type === undefined || f.type === type) && (commandId === undefined || (f.data as { commandId?: string } | undefined)?.commandId === commandId));
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close();
    return this.closedPromise;
  }

  terminate(): void {
    this.ws.terminate();
  }
}
