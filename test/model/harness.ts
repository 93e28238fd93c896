/**
 * Drive a real server over WebSocket with a generated workload and collect what every client
 * heard; read the journal (SQLite, read-only, as `causeway audit` does) for the model.
 */
import { sessionRows } from "../helpers/session-rows.js";
import Database from "better-sqlite3";
import WebSocket from "ws";
import type { Workload } from "./generator.js";
import type { SendResult } from "./responses.js";
import type { Received, Row, Send } from "./types.js";

type Frame = Record<string, any>;

/** A raw WebSocket peer: every frame in order, with its text. */
export class Peer {
  readonly frames: Frame[] = [];
  readonly raw: string[] = [];
  private listeners: Array<(f: Frame, raw: string, at: number) => void> = [];
  readonly closed: Promise<number>;
  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const text = data.toString();
      const f = JSON.parse(text) as Frame;
      const at = this.frames.length;
      this.frames.push(f);
      this.raw.push(text);
      for (const l of this.listeners) l(f, text, at);
    });
    this.closed = new Promise((resolve) => ws.once("close", (code) => resolve(code)));
  }
  static connect(url: string): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const p = new Peer(ws);
      ws.once("open", () => resolve(p));
      ws.once("error", reject);
    });
  }
  on(l: (f: Frame, raw: string, at: number) => void): void {
    this.listeners.push(l);
  }
  send(frame: string | object): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }
  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }
  /** resolves with the next frame matching, or rejects after `ms` / on close */
  next(match: (f: Frame) => boolean, ms = 20_000): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no matching frame within ${ms} ms`)), ms);
      const l = (f: Frame): void => {
        if (!match(f)) return;
        clearTimeout(t);
        this.listeners = this.listeners.filter((x) => x !== l);
        resolve(f);
      };
      this.listeners.push(l);
      void this.closed.then(() => {
        clearTimeout(t);
        reject(new Error("connection closed"));
      });
    });
  }
  request(cmd: Frame & { id: string }, ms?: number): Promise<Frame> {
    const p = this.next((f) => f.type === "response" && f.id === cmd.id, ms);
    this.send(cmd);
    return p;
  }
  close(): Promise<number> {
    this.ws.close();
    return this.closed;
  }
  terminate(): void {
    this.ws.terminate();
  }
}

/** An event stream observer: `subscribe {scope:"all"}` receives every lifecycle event. */
export async function observer(url: string, id = `observer-${process.pid}-${Date.now()}`): Promise<Peer> {
  const p = await Peer.connect(url);
  const r = await p.request({ type: "subscribe", id, scope: "all" });
  if (r.success !== true) throw new Error(`subscribe failed: ${JSON.stringify(r)}`);
  return p;
}

export interface RunOptions {
  /** how long to wait for the responses at a sync point / barrier */
  waitMs?: number;
  /** stop early (crash campaign): resolves the run with whatever was heard */
  abort?: Promise<void>;
  /** called for every frame any client receives (crash campaign: kill at the K-th event) */
  onFrame?: (f: Record<string, any>) => void;
  /**
   * Drop a client's connection right after it sent its frame #afterSend (terminate, no close
   * handshake), then reconnect and re-send every frame it had sent so far with the same id and
   * key (a retry); its later frames go over the new connection.
   */
  drops?: Array<{ client: number; afterSend: number }>;
  /** the workload re-sends ids of earlier runs (retries): see ResponseCheckOptions.partial */
  partial?: boolean;
}

export interface RunResult {
  results: SendResult[];
  peers: Peer[];
  /** retries sent over new connections after a drop (already in `results`) */
  retries: Send[];
  /** sends over a dropped connection: their responses may be lost */
  lossy: Set<Send>;
  /** sends whose responses never came (reported by the checker, not thrown) */
  missing: number;
}

/** Run a workload over `clients` fresh connections (or the given peers). */
export async function runWorkload(url: string, wl: Workload, opts: RunOptions = {}, given?: Peer[]): Promise<RunResult> {
  const peers = given ?? (await Promise.all(Array.from({ length: wl.clients }, () => Peer.connect(url))));
  const responses: Array<Map<string, Received[]>> = [];
  const outstanding: number[] = [];
  let waiters: Array<() => void> = [];
  const wake = (): void => {
    const w = waiters;
    waiters = [];
    for (const x of w) x();
  };
  const attach = (p: Peer, c: number): void => {
    responses[c] = new Map();
    outstanding[c] = 0;
    p.on((f, raw, at) => {
      opts.onFrame?.(f);
      if (f.type !== "response" || typeof f.id !== "string") return;
      const m = responses[c]!;
      const l = m.get(f.id);
      if (l) l.push({ frame: f, raw, at });
      else m.set(f.id, [{ frame: f, raw, at }]);
      outstanding[c]!--;
      wake();
    });
  };
  peers.forEach(attach);
  // original client → the connection (peer index) it currently uses
  const route = peers.map((_, c) => c);
  const sentBy = peers.map(() => [] as Send[]);
  const retries: Send[] = [];
  const lossy = new Set<Send>();
  const all: Send[] = [];
  let aborted = false;
  void opts.abort?.then(() => {
    aborted = true;
    wake();
  });
  const waitUntil = async (done: () => boolean): Promise<boolean> => {
    const deadline = Date.now() + (opts.waitMs ?? 30_000);
    while (!done() && !aborted) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  };
  const transmit = (c: number, send: Send): void => {
    all.push(send);
    sentBy[c]!.push(send);
    outstanding[send.client]!++;
    peers[send.client]!.send(send.env);
  };
  for (const step of wl.steps) {
    if (aborted) break;
    if (step.kind === "send") {
      const c = step.send.client;
      const via = route[c]!;
      if (!peers[via]!.open) continue;
      transmit(c, via === c ? step.send : { ...step.send, client: via });
      const drop = opts.drops?.find((d) => d.client === c && d.afterSend === step.send.index);
      if (drop) {
        const old = peers[route[c]!]!;
        old.terminate();
        await old.closed;
        outstanding[route[c]!] = 0;
        for (const s of sentBy[c]!) if (s.client === route[c]) lossy.add(s);
        const fresh = await Peer.connect(url);
        const ni = peers.length;
        peers.push(fresh);
        attach(fresh, ni);
        route[c] = ni;
        // retry everything sent so far (same ids, same keys)
        for (const s of [...sentBy[c]!]) {
          const retry: Send = { ...s, client: ni, index: -1 };
          retries.push(retry);
          transmit(c, retry);
        }
        wake();
      }
    } else if (step.kind === "sync") {
      const c = route[step.client]!;
      if (!(await waitUntil(() => outstanding[c]! <= 0))) break;
    } else if (!(await waitUntil(() => outstanding.every((x) => x <= 0)))) break;
  }
  // pair responses with sends: per connection and id, in order (the checker re-pairs within a group)
  const results: SendResult[] = [];
  const taken = new Map<string, number>();
  let missing = 0;
  for (const send of all) {
    const k = `${send.client}\u0000${send.env.id}`;
    const l = responses[send.client]!.get(send.env.id) ?? [];
    const i = taken.get(k) ?? 0;
    taken.set(k, i + 1);
    const response = l[i];
    if (!response && !lossy.has(send)) missing++;
    results.push({ send, response });
  }
  return { results, peers, retries, lossy, missing };
}

/** The journal, read-only (safe next to the running server). */
export class JournalReader {
  private readonly db: Database.Database;
  private readonly stmt: Database.Statement;
  constructor(readonly path: string) {
    this.db = new Database(path, { readonly: true, fileMustExist: true });
    this.stmt = this.db.prepare("SELECT * FROM journal WHERE seq > ? ORDER BY seq");
  }
  after(seq: number): Row[] {
    return (this.stmt.all(seq) as Array<Record<string, any>>).map(toRow);
  }
  sessions(): Array<{ sessionId: string; state: unknown; version: number; deleted: boolean }> {
    return sessionRows(this.db).map((s) => ({
      sessionId: s.session_id,
      state: JSON.parse(s.state),
      version: s.version,
      deleted: s.deleted_at !== null,
    }));
  }
  close(): void {
    this.db.close();
  }
}

const json = (v: unknown): any => (v === null || v === undefined ? null : JSON.parse(v as string));

function toRow(r: Record<string, any>): Row {
  return {
    seq: r.seq,
    lane: r.lane,
    laneSeq: r.lane_seq,
    commandId: r.command_id,
    sessionId: r.session_id,
    phase: r.phase,
    recordedAt: r.recorded_at,
    type: r.type,
    idempotencyKey: r.idempotency_key,
    idempotencyScope: r.idempotency_scope,
    fingerprint: r.fingerprint,
    dependsOn: json(r.depends_on),
    ifSessionVersion: r.if_session_version,
    params: json(r.params),
    timeoutMs: r.timeout_ms,
    status: r.status,
    outcome: json(r.outcome),
    effect: json(r.effect),
    detail: json(r.detail),
  };
}

/** Every frame a client sent, for the replay line of a failure report. */
export function describeSends(sends: Send[], max = 40): string {
  return sends
    .slice(0, max)
    .map((s) => `  c${s.client} ${JSON.stringify(s.env)}`)
    .join("\n");
}
