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
import { EventEmitter } from "node:events";
import { backoffDelay, resolveBackoff, sleep, type Backoff } from "./backoff.js";
import { ClientError, CommandFailedError } from "./errors.js";
import { EventStream, isJournaledEvent } from "./event-stream.js";
import { openSpawnLink, openWebSocketLink, type Link, type LinkEvents } from "./links.js";
import type { ClientState, ConnectOptions, ConnectTarget, EventsOptions, SendOptions } from "./options.js";
import { Requests, type SendHow } from "./requests.js";
import type { AnyCommand, CausewayCommands, Command, CommandType, LifecycleEvent, Response, ServerInfo, UntypedCommand } from "./types.js";

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
  private readonly requests: Requests;
  private readonly streams = new Set<EventStream>();
  private ready: { gen: number; resolve(): void } | null = null;
  /** the link generation whose server_ready was read */
  private readyGen = 0;
  private readonly backoff: Backoff | null;
  private readonly connectTimeoutMs: number;
  private readonly keys: boolean;
  private sleeping: { cancel?: () => void } = {};

  constructor(
    private readonly target: ConnectTarget,
    private readonly opts: ConnectOptions = {},
  ) {
    super();
    this.requests = new Requests({ timeoutMs: opts.timeoutMs ?? 30_000, idPrefix: opts.idPrefix ?? "c-" });
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 15_000;
    this.keys = opts.idempotencyKeys ?? true;
    this.backoff = resolveBackoff(opts.reconnect ?? true);
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
    return this.requests.size;
  }

  private enqueue(command: AnyCommand, opts: SendOptions, how: SendHow): Promise<Response> {
    if (typeof command !== "object" || command === null || typeof command.type !== "string") {
      return Promise.reject(new ClientError("invalid", "a command is an object with a string `type`"));
    }
    if (this.state === "closed") return Promise.reject(new ClientError("closed", "the client is closed", command.id));
    return this.requests.add(command, opts, how, this.write);
  }

  /** Write a frame to the current link if the connection is open; false: not written (it waits for the next link). */
  private readonly write = (text: string): boolean => this.state === "open" && this.link?.send(text) === true;

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
    const link = await this.dial({
      frame: (text: string) => {
        if (gen === this.gen) this.onFrame(text);
      },
      closed: (reason: string) => {
        if (gen === this.gen) this.onLinkClosed(reason);
      },
    });
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

  /** Open a link to the target: a spawned stdio server or a WebSocket. */
  private dial(events: LinkEvents): Promise<Link> {
    const t = this.target;
    if (typeof t === "object" && "spawn" in t) {
      return openSpawnLink(t.spawn, { stderr: this.opts.stderr ?? "inherit", env: t.env, cwd: t.cwd, closeTimeoutMs: 10_000, onSpawn: this.opts.onSpawn }, events);
    }
    return openWebSocketLink(
      typeof t === "string" ? t : t.url,
      {
        headers: { ...this.opts.headers, ...(this.opts.token !== undefined ? { authorization: `Bearer ${this.opts.token}` } : {}) },
        pingIntervalMs: this.opts.pingIntervalMs ?? 15_000,
        connectTimeoutMs: this.connectTimeoutMs,
      },
      events,
    );
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
      if (typeof f.id === "string") this.requests.answer(f as Response);
      return;
    }
    if (isJournaledEvent(f)) {
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
    this.requests.disconnected(reason, this.backoff !== null);
    for (const s of this.streams) s.disconnected();
    this.emit("disconnect", reason);
    if (!this.backoff) {
      this.finish(new ClientError("disconnected", `connection lost (${reason})`), true);
      return;
    }
    this.state = "reconnecting";
    void this.reconnectLoop(this.backoff);
  }

  private async reconnectLoop(b: Backoff): Promise<void> {
    let attempt = 0;
    while (this.state === "reconnecting") {
      this.sleeping = {};
      await sleep(backoffDelay(b, attempt), this.sleeping);
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
      this.requests.resend(this.write);
      for (const s of this.streams) s.resubscribe();
      this.emit("reconnect", attempt + 1);
      this.emit("open");
      return;
    }
  }

  /** Fail everything unanswered, end the event streams, and mark the client closed. */
  private finish(err: ClientError, streamsFail: boolean): void {
    this.state = "closed";
    this.requests.failAll(err);
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

/**
 * Connect to a causeway server: a WebSocket URL (`ws://127.0.0.1:3141/`), or `{spawn: [cmd, ...args]}`
 * to start `causeway serve --stdio ...` and talk over its stdin/stdout. Resolves once the server
 * has sent `server_ready`.
 */
export function connect(target: ConnectTarget, opts: ConnectOptions = {}): Promise<CausewayConnection> {
  return new CausewayConnection(target, opts).open();
}
