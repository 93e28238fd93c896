/**
 * The commands a connection has sent and not yet seen answered: their identity (generated when
 * missing), client-side timeouts and abort signals, and what becomes of them when the link drops:
 * re-sent with the SAME `id` and `idempotencyKey` after a reconnect, or failed.
 */
import { randomUUID } from "node:crypto";
import { ClientError } from "./errors.js";
import type { SendOptions } from "./options.js";
import type { AnyCommand, Response } from "./types.js";

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

/** How one command is sent: re-sent after a reconnect or not, given an idempotencyKey or not. */
export interface SendHow {
  resend: boolean;
  keys: boolean;
  onResponse?: (f: Response) => void;
}

/** Writes a frame to the current link if the connection is open; false: not written. */
export type Write = (text: string) => boolean;

export class Requests {
  private readonly entries: Entry[] = [];
  private readonly byId = new Map<string, Entry[]>();

  constructor(private readonly defaults: { timeoutMs: number; idPrefix: string }) {}

  /** Commands sent and not answered yet. */
  get size(): number {
    return this.entries.length;
  }

  /** Give the command its identity, hold it until its response, and write it now if the link is open. */
  add(command: AnyCommand, opts: SendOptions, how: SendHow, write: Write): Promise<Response> {
    const env: Record<string, unknown> = { ...command };
    if (env.id === undefined) env.id = `${this.defaults.idPrefix}${randomUUID()}`;
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
      if (!this.arm(entry, command.type, opts)) return;
      this.entries.push(entry);
      const list = this.byId.get(id);
      if (list) list.push(entry);
      else this.byId.set(id, [entry]);
      if (write(text)) entry.sent = true;
    });
  }

  /** Start the client-side timeout and listen to the abort signal; false: aborted already (rejected). */
  private arm(entry: Entry, type: string, opts: SendOptions): boolean {
    const { id, idempotencyKey: key } = entry;
    const ms = opts.timeoutMs ?? this.defaults.timeoutMs;
    if (ms > 0) {
      entry.timer = setTimeout(() => {
        this.drop(entry);
        entry.reject(new ClientError("timeout", `no response to ${type} ${id} within ${ms} ms; it may still run: re-send it with the same id to learn its outcome`, id, key));
      }, ms);
    }
    const signal = opts.signal;
    if (!signal) return true;
    if (signal.aborted) {
      clearTimeout(entry.timer);
      entry.reject(new ClientError("aborted", `${type} ${id} was aborted before it was sent`, id, key));
      return false;
    }
    const onAbort = (): void => {
      this.drop(entry);
      entry.reject(new ClientError("aborted", `${type} ${id} was aborted; it may still run: re-send it with the same id to learn its outcome`, id, key));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    entry.cleanup = () => signal.removeEventListener("abort", onAbort);
    return true;
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

  /** A response frame: it answers the oldest unanswered command with its id (if any). */
  answer(f: Response): void {
    const entry = this.byId.get(f.id)?.[0];
    if (!entry) return;
    this.drop(entry);
    entry.onResponse?.(f);
    entry.resolve(f);
  }

  /**
   * The link dropped: fail every command that was written to it, except the ones that will be
   * re-sent after the reconnect (`reconnecting`). Commands never written wait for the next link.
   */
  disconnected(reason: string, reconnecting: boolean): void {
    for (const e of [...this.entries]) {
      if ((e.resend && reconnecting) || !e.sent) continue;
      this.drop(e);
      e.reject(new ClientError("disconnected", `connection lost before ${e.id} was answered (${reason}); it may have run: re-send it with the same id`, e.id, e.idempotencyKey));
    }
  }

  /** A new link: write again every command to be re-sent, and every one not written yet, with the same identity. */
  resend(write: Write): void {
    for (const e of this.entries) if ((e.resend || !e.sent) && write(e.text)) e.sent = true;
  }

  /** Fail everything unanswered with `err`'s code. */
  failAll(err: ClientError): void {
    for (const e of [...this.entries]) {
      this.drop(e);
      e.reject(new ClientError(err.code, `${err.message}; ${e.id} was not answered`, e.id, e.idempotencyKey));
    }
  }
}
