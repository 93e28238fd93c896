/**
 * Messages between the nodes of one shared journal, through Redis: each node has one mailbox (a
 * list, keyspace.ts mailboxKey) read by a blocking BLPOP on a connection of its own. A request
 * carries its sender, an id and a deadline; the receiving node runs its handler and pushes the
 * answer to the sender's mailbox. What it is for: a decision (approve / reject / cancel) sent to a
 * node that does not own the command's lane is carried out by the owner, which alone writes that
 * lane (docs/redis-store.md "Several nodes").
 *
 * Delivery is at most once and bounded: a request that is not answered within its timeout rejects
 * (the owner died, Redis went away); a request found after its deadline is dropped unread, so a
 * restarted node never acts on a stale decision. Nothing here is journaled: the decision itself is,
 * on the owner, like any decision.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { StoreLog } from "../types.js";
import { mailboxKey, type Keyspace } from "./keyspace.js";

type Envelope = { kind: "request"; id: string; from: string; deadline: number; message: unknown } | { kind: "reply"; id: string; ok: boolean; value: unknown };

interface Waiting {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class Mailbox {
  private readonly reader: Redis;
  private readonly writer: Redis;
  private readonly key: string;
  private readonly waiting = new Map<string, Waiting>();
  private handler: ((message: unknown) => Promise<unknown>) | null = null;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(
    url: string,
    private readonly ks: Keyspace,
    private readonly node: string,
    private readonly log?: StoreLog,
  ) {
    const opts = { maxRetriesPerRequest: null, enableOfflineQueue: true } as const;
    this.reader = new Redis(url, opts);
    this.writer = new Redis(url, opts);
    for (const c of [this.reader, this.writer]) c.on("error", () => {}); // a lost connection reconnects; waiting requests time out
    this.key = mailboxKey(ks, node);
    // what a previous process of this node left unread is dropped by its deadline, not deleted here:
    // a DEL racing a sender's first RPUSH would lose that message
    this.done = this.loop();
  }

  onMessage(handler: (message: unknown) => Promise<unknown>): void {
    this.handler = handler;
  }

  /** Send `message` to `node`; its handler's answer, or a rejection after `timeoutMs`. */
  send(node: string, message: unknown, timeoutMs: number): Promise<unknown> {
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`node ${node} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      const request: Envelope = { kind: "request", id, from: this.node, deadline: Date.now() + timeoutMs, message };
      this.push(node, request, timeoutMs).catch((err: Error) => this.settle(id, false, err.message));
    });
  }

  private async push(node: string, env: Envelope, ttlMs: number): Promise<void> {
    const key = mailboxKey(this.ks, node);
    // a mailbox nobody reads (its node died) does not grow for good
    await this.writer.multi().rpush(key, JSON.stringify(env)).pexpire(key, Math.max(ttlMs * 4, 60_000)).exec();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let popped: [string, string] | null;
      try {
        popped = await this.reader.blpop(this.key, 1);
      } catch {
        if (this.stopped) return;
        continue;
      }
      if (popped) this.receive(popped[1]);
    }
  }

  private receive(text: string): void {
    let env: Envelope;
    try {
      env = JSON.parse(text) as Envelope;
    } catch {
      this.log?.warn({ mailbox: this.key }, "dropped a mailbox message that is not JSON");
      return;
    }
    if (env.kind === "reply") return this.settle(env.id, env.ok, env.value);
    if (env.deadline < Date.now()) return; // its sender gave up: never act on it late
    const handler = this.handler;
    const answer = handler ? handler(env.message) : Promise.reject(new Error(`node ${this.node} does not take messages`));
    answer.then(
      (value) => this.push(env.from, { kind: "reply", id: env.id, ok: true, value }, env.deadline - Date.now()),
      (err: unknown) => this.push(env.from, { kind: "reply", id: env.id, ok: false, value: err instanceof Error ? err.message : String(err) }, env.deadline - Date.now()),
    ).catch(() => {}); // the sender times out
  }

  private settle(id: string, ok: boolean, value: unknown): void {
    const w = this.waiting.get(id);
    if (!w) return;
    this.waiting.delete(id);
    clearTimeout(w.timer);
    if (ok) w.resolve(value);
    else w.reject(new Error(String(value)));
  }

  async close(): Promise<void> {
    this.stopped = true;
    for (const [id, w] of this.waiting) {
      clearTimeout(w.timer);
      w.reject(new Error(`node ${this.node} is closing`));
      this.waiting.delete(id);
    }
    this.reader.disconnect();
    await this.done.catch(() => {});
    this.writer.disconnect();
  }
}
