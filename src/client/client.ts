/**
 * `causeway/client`: connect over WebSocket or to a spawned stdio server; safe retries by default.
 *
 * - `send(command)` fills in `id` and `idempotencyKey` when missing and resolves with the response
 *   (success or failure: check `response.success`); `call(command)` resolves with `data` or throws
 *   a `CommandFailedError`.
 * - When the connection drops, the client reconnects with exponential backoff and re-sends every
 *   unanswered command with the SAME `id` and `idempotencyKey`: the server attaches the re-send to
 *   the original if it is still running, or replays its stored outcome (`replayed: true`), so
 *   nothing executes twice.
 * - `events({fromSeq})` yields journaled lifecycle events in `seq` order; after a reconnect it
 *   re-subscribes from the last `seq` it yielded, so there is no gap and no duplicate.
 * - Client-side timeouts (`timeoutMs`) and `AbortSignal`s reject the promise with a `ClientError`
 *   carrying the command's `id` and `idempotencyKey`: the command may still run on the server;
 *   send it again with that same identity to learn its outcome.
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type { ChildProcess } from "node:child_process";
import { openSpawnLink, openWebSocketLink, type Link } from "./links.js";
import type { AnyCommand, CausewayCommands, Command, CommandType, FailureResponse, LifecycleEvent, Response, ServerInfo, UntypedCommand } from "./types.js";

export type ConnectTarget = string | { url: string } | { spawn: string[]; cwd?: string; env?: NodeJS.ProcessEnv };

export interface ReconnectOptions {
  /** first delay after a drop, ms (default 100) */
  initialDelayMs?: number;
  /** longest delay between attempts, ms (default 5000) */
  maxDelayMs?: number;
  /** delay multiplier per failed attempt (default 2) */
  factor?: number;
  /** ± this fraction of random jitter on each delay (default 0.2) */
  jitter?: number;
  /** give up (and fail everything unanswered) after this many failed attempts in a row (default: never) */
  maxAttempts?: number;
}

export interface ConnectOptions {
  /** default client-side timeout of `send`, ms; 0 = none (default 30000) */
  timeoutMs?: number;
  /** how long opening a connection (until `server_ready`) may take, ms (default 15000) */
  connectTimeoutMs?: number;
  /** reconnect after a drop (default true) */
  reconnect?: boolean | ReconnectOptions;
  /** WebSocket: `Authorization: Bearer <token>` */
  token?: string;
  /** WebSocket: extra HTTP headers on the upgrade request */
  headers?: Record<string, string>;
  /** WebSocket: ping interval; a server that misses a pong is treated as gone (default 15000; 0 = off) */
  pingIntervalMs?: number;
  /** spawn: where the server's stderr (logs) goes (default "inherit") */
  stderr?: "inherit" | "ignore" | "pipe";
  /** spawn: called with every spawned server process */
  onSpawn?: (child: ChildProcess) => void;
  /** prefix of generated ids (default "c-") */
  idPrefix?: string;
  /** generate an idempotencyKey for commands without one (default true) */
  idempotencyKeys?: boolean;
}

export interface SendOptions {
  /** client-side timeout for this command, ms (0 = none); default: the client's `timeoutMs` */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface EventsOptions {
  /** yield events with `seq` greater than this; default: from now on */
  fromSeq?: number;
  /** only this session's lane (default: every lane) */
  sessionId?: string;
  signal?: AbortSignal;
  /** events buffered for a slow consumer before the stream pauses and later resumes from the journal (default 10000) */
  maxBuffered?: number;
}

export type ClientErrorCode = "timeout" | "aborted" | "closed" | "disconnected" | "connect_failed" | "invalid";

/** A failure of the client itself (not a command failure): the command may or may not have run. */
export class ClientError extends Error {
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    readonly id?: string,
    readonly idempotencyKey?: string,
  ) {
    super(message);
    this.name = "ClientError";
  }
}

/** `call()` got `success: false`. */
export class CommandFailedError extends Error {
  readonly code: string;
  constructor(readonly response: FailureResponse) {
    super(`${response.command} failed (${response.code}): ${response.error}`);
    this.name = "CommandFailedError";
    this.code = response.code;
  }
}

export type ClientState = "connecting" | "open" | "reconnecting" | "closed";

interface Entry {
  id: string;
  idempotencyKey: string | undefined;
  text: string;
  /** re-sent after a reconnect (user commands); internal subscribe frames are not */
  resend: boolean;
  resolve(f: Response): void;
  reject(e: Error): void;
  /** runs synchronously when the response frame is read, before any later frame */
  onResponse?: (f: Response) => void;
  /** written to a link at least once */
  sent: boolean;
  timer?: NodeJS.Timeout;
  cleanup?: () => void;
}

const JOURNALED = new Set(["command_accepted", "command_started", "command_finished", "command_rejected", "command_requeued"]);

const sleep = (ms: number, cancel: { cancel?: () => void }): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    cancel.cancel = () => {
      clearTimeout(t);
      resolve();
    };
  });

/**
 * A connection to a causeway server. Events: `open` (after server_ready, also after each
 * reconnect), `disconnect` (reason), `reconnect` (attempt count), `close`, `frame` (every parsed
 * frame), `error` (an unparseable frame).
 */
export class CausewayConnection extends EventEmitter {
  state: ClientState = "connecting";
  /** `server_ready` data of the current (or last) link */
  server: ServerInfo | null = null;
  /** how many times the client has reconnected */
  reconnects = 0;
  private link: Link | null = null;
  private gen = 0;
  private readonly entries: Entry[] = [];
  private readonly byId = new Map<string, Entry[]>();
  private readonly streams = new Set<EventStream>();
  private ready: { gen: number; resolve(): void } | null = null;
  /** the link generation whose server_ready was read */
  private readyGen = 0;
  private readonly backoff: Required<ReconnectOptions> | null;
  private readonly timeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly idPrefix: string;
  private readonly keys: boolean;
  private sleeping: { cancel?: () => void } = {};

  constructor(
    private readonly target: ConnectTarget,
    private readonly opts: ConnectOptions = {},
  ) {
    super();
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 15_000;
    this.idPrefix = opts.idPrefix ?? "c-";
    this.keys = opts.idempotencyKeys ?? true;
    const r = opts.reconnect ?? true;
    this.backoff =
      r === false
        ? null
        : { initialDelayMs: 100, maxDelayMs: 5_000, factor: 2, jitter: 0.2, maxAttempts: Number.POSITIVE_INFINITY, ...(r === true ? {} : r) };
  }

  /** Open the first link; rejects if the server cannot be reached (no retry for the first one). */
  async open(): Promise<this> {
    try {
      await this.openLink();
    } catch (err) {
      this.state = "closed";
      throw new ClientError("connect_failed", `could not connect: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.state = "open";
    this.emit("open");
    return this;
  }

  // ------------------------------------------------------------------ sending

  /** Send a command; resolves with its response (check `success`). Generates `id` / `idempotencyKey` if missing. */
  send<T extends CommandType>(command: Command<T>, opts?: SendOptions): Promise<Response<CausewayCommands[T]["data"]>>;
  send<D = any, K extends string = string>(command: UntypedCommand<K>, opts?: SendOptions): Promise<Response<D>>;
  send(command: AnyCommand, opts: SendOptions = {}): Promise<Response> {
    return this.enqueue(command, opts, { resend: true, keys: this.keys });
  }

  /** Like `send`, but resolves with `data` and throws `CommandFailedError` on `success: false`. */
  call<T extends CommandType>(command: Command<T>, opts?: SendOptions): Promise<CausewayCommands[T]["data"]>;
  call<D = any, K extends string = string>(command: UntypedCommand<K>, opts?: SendOptions): Promise<D>;
  async call(command: AnyCommand, opts: SendOptions = {}): Promise<unknown> {
    const r = await this.send(command, opts);
    if (!r.success) throw new CommandFailedError(r);
    return r.data;
  }

  /** Commands sent and not answered yet. */
  get unanswered(): number {
    return this.entries.length;
  }

  private enqueue(command: AnyCommand, opts: SendOptions, how: { resend: boolean; keys: boolean; onResponse?: (f: Response) => void }): Promise<Response> {
    if (typeof command !== "object" || command === null || typeof command.type !== "string") {
      return Promise.reject(new ClientError("invalid", "a command is an object with a string `type`"));
    }
    if (this.state === "closed") return Promise.reject(new ClientError("closed", "the client is closed", command.id));
    const env: Record<string, unknown> = { ...command };
    if (env.id === undefined) env.id = `${this.idPrefix}${randomUUID()}`;
    if (env.idempotencyKey === undefined && how.keys) env.idempotencyKey = `k-${randomUUID()}`;
    const id = env.id as string;
    const key = env.idempotencyKey as string | undefined;
    let text: string;
    try {
      text = JSON.stringify(env);
    } catch (err) {
      return Promise.reject(new ClientError("invalid", `the command is not JSON: ${(err as Error).message}`, id, key));
    }
    return new Promise<Response>((resolve, reject) => {
      const entry: Entry = { id, idempotencyKey: key, text, resend: how.resend, resolve, reject, onResponse: how.onResponse, sent: false };
      const ms = opts.timeoutMs ?? this.timeoutMs;
      if (ms > 0) {
        entry.timer = setTimeout(() => {
          this.drop(entry);
          reject(new ClientError("timeout", `no response to ${command.type} ${id} within ${ms} ms; it may still run: re-send it with the same id to learn its outcome`, id, key));
        }, ms);
      }
      const signal = opts.signal;
      if (signal) {
        if (signal.aborted) {
          clearTimeout(entry.timer);
          reject(new ClientError("aborted", `${command.type} ${id} was aborted before it was sent`, id, key));
          return;
        }
        const onAbort = (): void => {
          this.drop(entry);
          reject(new ClientError("aborted", `${command.type} ${id} was aborted; it may still run: re-send it with the same id to learn its outcome`, id, key));
        };
        signal.addEventListener("abort", onAbort, { once: true });
        entry.cleanup = () => signal.removeEventListener("abort", onAbort);
      }
      this.entries.push(entry);
      const list = this.byId.get(id);
      if (list) list.push(entry);
      else this.byId.set(id, [entry]);
      if (this.state === "open" && this.link?.send(text)) entry.sent = true;
    });
  }

  private drop(entry: Entry): void {
    clearTimeout(entry.timer);
    entry.cleanup?.();
    const i = this.entries.indexOf(entry);
    if (i >= 0) this.entries.splice(i, 1);
    const list = this.byId.get(entry.id);
    if (list) {
      const j = list.indexOf(entry);
      if (j >= 0) list.splice(j, 1);
      if (list.length === 0) this.byId.delete(entry.id);
    }
  }

  /** internal: a frame that is not re-sent on reconnect, with a synchronous response hook */
  sendInternal(command: AnyCommand, onResponse?: (f: Response) => void): Promise<Response> {
    return this.enqueue(command, {}, { resend: false, keys: false, onResponse });
  }

  // ------------------------------------------------------------------ events

  /** Journaled lifecycle events in `seq` order, resumed without gap or duplicate after a reconnect. */
  events(opts: EventsOptions = {}): AsyncIterableIterator<LifecycleEvent> {
    const stream = new EventStream(this, opts, () => this.streams.delete(stream));
    this.streams.add(stream);
    stream.start();
    return stream;
  }

  // ------------------------------------------------------------------ links

  private async openLink(): Promise<void> {
    const gen = ++this.gen;
    const events = {
      frame: (text: string) => {
        if (gen === this.gen) this.onFrame(text);
      },
      closed: (reason: string) => {
        if (gen === this.gen) this.onLinkClosed(reason);
      },
    };
    const t = this.target;
    const link =
      typeof t === "object" && "spawn" in t
        ? await openSpawnLink(t.spawn, { stderr: this.opts.stderr ?? "inherit", env: t.env, cwd: t.cwd, closeTimeoutMs: 10_000, onSpawn: this.opts.onSpawn }, events)
        : await openWebSocketLink(
            typeof t === "string" ? t : t.url,
            {
              headers: { ...this.opts.headers, ...(this.opts.token !== undefined ? { authorization: `Bearer ${this.opts.token}` } : {}) },
              pingIntervalMs: this.opts.pingIntervalMs ?? 15_000,
              connectTimeoutMs: this.connectTimeoutMs,
            },
            events,
          );
    this.link = link;
    // the server speaks first: server_ready means it has recovered and accepts commands
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        if (this.readyGen === gen) return resolve();
        this.ready = { gen, resolve };
        timer = setTimeout(() => reject(new Error(`no server_ready within ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
        this.once("_linkclosed", (reason: string) => reject(new Error(reason)));
      });
    } catch (err) {
      this.link = null;
      link.terminate();
      throw err;
    } finally {
      clearTimeout(timer);
      this.ready = null;
      this.removeAllListeners("_linkclosed");
    }
  }

  private onFrame(text: string): void {
    let f: Record<string, any>;
    try {
      f = JSON.parse(text) as Record<string, any>;
    } catch {
      if (this.listenerCount("error") > 0) this.emit("error", new ClientError("invalid", `unparseable frame from the server: ${text.slice(0, 200)}`));
      return;
    }
    if (this.listenerCount("frame") > 0) this.emit("frame", f);
    if (f.type === "response") {
      if (typeof f.id !== "string") return;
      const entry = this.byId.get(f.id)?.[0];
      if (!entry) return;
      this.drop(entry);
      entry.onResponse?.(f as Response);
      entry.resolve(f as Response);
      return;
    }
    if (JOURNALED.has(f.type as string) && typeof f.data?.seq === "number") {
      for (const s of this.streams) s.offer(f as LifecycleEvent);
      return;
    }
    if (f.type === "events_dropped") {
      for (const s of this.streams) s.resync();
      return;
    }
    if (f.type === "server_ready") {
      this.server = f.data as ServerInfo;
      this.readyGen = this.gen;
      if (this.ready && this.ready.gen === this.gen) this.ready.resolve();
    }
  }

  private onLinkClosed(reason: string): void {
    this.link = null;
    if (this.ready) {
      this.emit("_linkclosed", reason);
      return;
    }
    if (this.state === "closed") return;
    for (const e of [...this.entries]) {
      if ((e.resend && this.backoff) || !e.sent) continue;
      this.drop(e);
      e.reject(new ClientError("disconnected", `connection lost before ${e.id} was answered (${reason}); it may have run: re-send it with the same id`, e.id, e.idempotencyKey));
    }
    for (const s of this.streams) s.disconnected();
    this.emit("disconnect", reason);
    if (!this.backoff) {
      this.finish(new ClientError("disconnected", `connection lost (${reason})`), true);
      return;
    }
    this.state = "reconnecting";
    void this.reconnectLoop(this.backoff);
  }

  private async reconnectLoop(b: Required<ReconnectOptions>): Promise<void> {
    let attempt = 0;
    while (this.state === "reconnecting") {
      const base = Math.min(b.maxDelayMs, b.initialDelayMs * b.factor ** attempt);
      const delay = Math.max(0, base * (1 + b.jitter * (2 * Math.random() - 1)));
      this.sleeping = {};
      await sleep(delay, this.sleeping);
      if (this.state !== "reconnecting") return;
      try {
        await this.openLink();
      } catch (err) {
        attempt++;
        if (attempt >= b.maxAttempts) {
          this.finish(new ClientError("closed", `gave up reconnecting after ${attempt} attempts: ${err instanceof Error ? err.message : String(err)}`), true);
          return;
        }
        continue;
      }
      if ((this.state as ClientState) === "closed") {
        void this.link?.close();
        return;
      }
      this.state = "open";
      this.reconnects++;
      // same identity: the server attaches to the original or replays its stored outcome
      for (const e of this.entries) if ((e.resend || !e.sent) && this.link?.send(e.text)) e.sent = true;
      for (const s of this.streams) s.resubscribe();
      this.emit("reconnect", attempt + 1);
      this.emit("open");
      return;
    }
  }

  /** Fail everything unanswered, end the event streams, and mark the client closed. */
  private finish(err: ClientError, streamsFail: boolean): void {
    this.state = "closed";
    for (const e of [...this.entries]) {
      this.drop(e);
      e.reject(new ClientError(err.code, `${err.message}; ${e.id} was not answered`, e.id, e.idempotencyKey));
    }
    for (const s of [...this.streams]) s.end(streamsFail ? err : null);
    this.emit("close");
  }

  /** Close the connection; unanswered commands fail with `closed`. A spawned server drains and exits. */
  async close(): Promise<void> {
    if (this.state === "closed") return;
    this.sleeping.cancel?.();
    const link = this.link;
    this.link = null;
    this.finish(new ClientError("closed", "the client was closed"), false);
    await link?.close();
  }

  /** Tests and tooling: drop the current link at once, as a network failure would. */
  dropLink(): void {
    this.link?.terminate();
  }
}

/** One `events()` iterator. */
class EventStream implements AsyncIterableIterator<LifecycleEvent> {
  private lastSeq: number | null;
  private readonly buf: LifecycleEvent[] = [];
  private waiter: { resolve(r: IteratorResult<LifecycleEvent>): void; reject(e: Error): void } | null = null;
  private accepting = false;
  private paused = false;
  private done = false;
  private error: Error | null = null;
  private readonly maxBuffered: number;
  private readonly onAbort = (): void => void this.return();

  constructor(
    private readonly client: CausewayConnection,
    private readonly opts: EventsOptions,
    private readonly detach: () => void,
  ) {
    this.lastSeq = opts.fromSeq ?? null;
    this.maxBuffered = Math.max(2, opts.maxBuffered ?? 10_000);
    opts.signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  start(): void {
    if (this.opts.signal?.aborted) return void this.return();
    if (this.lastSeq !== null) return this.resubscribe();
    // "from now": the last committed seq, then a resumable subscription from it
    this.client.sendInternal({ type: "health_check" }).then(
      (r) => {
        if (this.done) return;
        if (!r.success) return this.end(new CommandFailedError(r));
        this.lastSeq = (r.data as { journal: { lastSeq: number } }).journal.lastSeq;
        this.resubscribe();
      },
      () => {
        // disconnected before the answer: retry once the client is open again
        if (!this.done) this.client.once("open", () => this.start());
      },
    );
  }

  /** (Re)subscribe from the last seq yielded; events are accepted from its response on. */
  resubscribe(): void {
    if (this.done || this.paused || this.lastSeq === null || this.client.state !== "open") return;
    this.accepting = false;
    const cmd = this.opts.sessionId !== undefined ? { type: "subscribe", sessionId: this.opts.sessionId, fromSeq: this.lastSeq } : { type: "subscribe", scope: "all", fromSeq: this.lastSeq };
    this.client
      .sendInternal(cmd, (r) => {
        if (r.success) this.accepting = true;
        else this.end(new CommandFailedError(r));
      })
      .catch(() => {
        /* disconnected: resubscribed after the reconnect */
      });
  }

  offer(ev: LifecycleEvent): void {
    if (!this.accepting || this.done) return;
    const d = ev.data;
    if (this.opts.sessionId !== undefined && d.laneKey !== `session:${this.opts.sessionId}`) return;
    if (this.lastSeq !== null && d.seq <= this.lastSeq) return; // replayed twice across a re-subscribe
    this.lastSeq = d.seq;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ value: ev, done: false });
      return;
    }
    this.buf.push(ev);
    if (this.buf.length >= this.maxBuffered) {
      // a slow consumer: stop buffering, resume from the journal once it has caught up
      this.paused = true;
      this.accepting = false;
    }
  }

  disconnected(): void {
    this.accepting = false;
  }

  /** the server dropped events for this connection: re-read them from the journal */
  resync(): void {
    this.accepting = false;
    this.resubscribe();
  }

  end(err: Error | null): void {
    if (this.done) return;
    this.done = true;
    this.error = err;
    this.detach();
    this.opts.signal?.removeEventListener("abort", this.onAbort);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      if (err) w.reject(err);
      else w.resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<LifecycleEvent>> {
    const value = this.buf.shift();
    if (value !== undefined) {
      if (this.paused && this.buf.length <= this.maxBuffered / 2) {
        this.paused = false;
        this.resubscribe();
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.error) return Promise.reject(this.error);
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  return(): Promise<IteratorResult<LifecycleEvent>> {
    this.buf.length = 0;
    this.end(null);
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<LifecycleEvent> {
    return this;
  }
}

/**
 * Connect to a causeway server: a WebSocket URL (`ws://127.0.0.1:3141/`), or `{spawn: [cmd, ...args]}`
 * to start `causeway serve --stdio ...` and talk over its stdin/stdout. Resolves once the server
 * has sent `server_ready`.
 */
export function connect(target: ConnectTarget, opts: ConnectOptions = {}): Promise<CausewayConnection> {
  return new CausewayConnection(target, opts).open();
}
