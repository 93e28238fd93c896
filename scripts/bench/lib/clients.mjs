// Load-generating clients: one WebSocket or a stdio pipe, a pipelined closed loop (WINDOW in
// flight) and an open loop at a fixed offered rate. Frames the client receives are not JSON-parsed:
// a response is recognised by its prefix and its id read in place, so the client stays cheap.
import WebSocket from "ws";
import { quantiles } from "./stats.mjs";

const RESPONSE = Buffer.from('{"type":"response"');
const ID = Buffer.from('"id":"');
const SUCCESS = Buffer.from('"success":true');

/** id → { ok } of a response frame (Buffer), or null for events. `echo`: every frame counts. */
function readResponse(buf, echo) {
  if (!echo && buf.compare(RESPONSE, 0, RESPONSE.length, 0, RESPONSE.length) !== 0) return null;
  const at = buf.indexOf(ID);
  if (at === -1 || at > 40) return { id: null, ok: false };
  const end = buf.indexOf(34, at + ID.length);
  const id = buf.toString("latin1", at + ID.length, end);
  return { id, ok: echo || buf.indexOf(SUCCESS, end) !== -1 };
}

class Base {
  constructor(echo) {
    this.echo = echo;
    this.queue = [];
    this.flushScheduled = false;
    this.onResponse = () => {};
    /** set by a running load: called once if the server closes the connection under it */
    this.onClose = null;
    this.closedWhy = null;
    this.received = 0;
    this.failures = [];
  }
  handle(buf) {
    this.received++;
    const r = readResponse(buf, this.echo);
    if (!r) return;
    if (!r.ok && this.failures.length < 5) this.failures.push(buf.toString("utf8").slice(0, 300));
    if (this.waiting && r.id === this.waiting.id) return this.waiting.resolve(JSON.parse(buf.toString("utf8")));
    this.onResponse(r.id, r.ok);
  }
  /** The peer closed the connection (not us): whatever waits on it fails instead of hanging. */
  closedByPeer(why) {
    this.closedWhy = why;
    const err = new Error(`the server closed the connection: ${why}`);
    if (this.waiting) this.waiting.reject(err);
    this.onClose?.(err);
  }
  /** send one command and resolve with its parsed response frame */
  request(command) {
    const id = `req${RUN}${++runCounter}`;
    return new Promise((resolve, reject) => {
      if (this.closedWhy) return reject(new Error(`the server closed the connection: ${this.closedWhy}`));
      this.waiting = { id, resolve: (f) => ((this.waiting = null), resolve(f)), reject: (e) => ((this.waiting = null), reject(e)) };
      this.send(JSON.stringify({ ...command, id }));
    });
  }
  /** queue a frame; everything queued in one turn is written together (cork / one write) */
  send(frame) {
    this.queue.push(frame);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(() => this.flush());
    }
  }
}

export class WsClient extends Base {
  static connect(url, { echo = false } = {}) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      const c = new WsClient(ws, echo);
      ws.once("open", () => resolve(c));
      ws.once("error", reject);
    });
  }
  constructor(ws, echo) {
    super(echo);
    this.ws = ws;
    this.closing = false;
    ws.on("message", (data) => this.handle(data));
    ws.on("close", (code, reason) => {
      if (!this.closing) this.closedByPeer(`${code} ${reason.toString() || "(no reason)"}`);
    });
  }
  flush() {
    this.flushScheduled = false;
    const q = this.queue;
    this.queue = [];
    const sock = this.ws._socket;
    sock.cork();
    for (const f of q) this.ws.send(f);
    sock.uncork();
  }
  close() {
    return new Promise((resolve) => {
      this.closing = true;
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once("close", resolve);
      this.ws.close();
    });
  }
}

/** A pipe to a `causeway serve --stdio` child process. */
export class StdioClient extends Base {
  constructor(child) {
    super(false);
    this.child = child;
    let rest = Buffer.alloc(0);
    child.stdout.on("data", (chunk) => {
      let buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
      let start = 0;
      for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
        this.handle(buf.subarray(start, nl));
        start = nl + 1;
      }
      rest = start < buf.length ? Buffer.from(buf.subarray(start)) : Buffer.alloc(0);
    });
  }
  flush() {
    this.flushScheduled = false;
    const q = this.queue;
    this.queue = [];
    this.child.stdin.write(q.join("\n") + "\n");
  }
}

let runCounter = 0;
// ids unique across processes too (runs on a cached journal must never replay an earlier run's id)
const RUN = Math.random().toString(36).slice(2, 8);

/**
 * Closed loop: keep `window` commands in flight until `total` answered. `frame(i, id)` builds
 * command i. Returns throughput, failure count, and latency quantiles (ms, send → response).
 */
export function pipeline(client, { total, window, frame, timeoutMs = 600_000 }) {
  const tag = `r${RUN}${++runCounter}_`;
  const sentAt = new Float64Array(total);
  const lat = new Float64Array(total);
  let sent = 0;
  let done = 0;
  let failed = 0;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const timer = setTimeout(() => reject(new Error(`pipeline: ${done}/${total} answered after ${timeoutMs} ms; failures: ${client.failures.join(" | ")}`)), timeoutMs);
    client.onClose = (err) => {
      clearTimeout(timer);
      reject(new Error(`pipeline: ${done}/${total} answered; ${err.message}`));
    };
    const sendOne = () => {
      const i = sent++;
      sentAt[i] = performance.now();
      client.send(frame(i, tag + i));
    };
    client.onResponse = (id, ok) => {
      if (id === null || !id.startsWith(tag)) return;
      const i = Number(id.slice(tag.length));
      lat[done] = performance.now() - sentAt[i];
      done++;
      if (!ok) failed++;
      if (sent < total) sendOne();
      else if (done === total) {
        clearTimeout(timer);
        const secs = (performance.now() - t0) / 1000;
        resolve({ total, secs, perSec: total / secs, failed, latencyMs: quantiles(lat) });
      }
    };
    while (sent < Math.min(window, total)) sendOne();
  });
}

/**
 * Open loop at `rate` commands/s for `durationMs`: command i is due at t0 + i/rate and its latency
 * is measured from that due time (no coordinated omission: a stalled server is charged for the
 * commands it delayed). A setImmediate loop sends what is due.
 */
export function openLoop(client, { rate, durationMs, frame, drainTimeoutMs = 120_000 }) {
  const tag = `o${RUN}${++runCounter}_`;
  const total = Math.round((rate * durationMs) / 1000);
  const due = (i) => t0 + (i * 1000) / rate;
  const lat = new Float64Array(total);
  let t0 = 0;
  let sent = 0;
  let done = 0;
  let failed = 0;
  let maxLagMs = 0;
  return new Promise((resolve, reject) => {
    let timer = null;
    let stopped = false;
    client.onClose = (err) => {
      stopped = true;
      clearTimeout(timer);
      reject(new Error(`open loop ${rate}/s: ${done}/${total} answered; ${err.message}`));
    };
    client.onResponse = (id, ok) => {
      if (id === null || !id.startsWith(tag)) return;
      const i = Number(id.slice(tag.length));
      lat[done++] = performance.now() - due(i);
      if (!ok) failed++;
      if (done === total) {
        clearTimeout(timer);
        const secs = (performance.now() - t0) / 1000;
        resolve({ rate, total, secs, achievedPerSec: total / secs, failed, maxSendLagMs: maxLagMs, latencyMs: quantiles(lat) });
      }
    };
    t0 = performance.now();
    const tick = () => {
      if (stopped) return;
      const t = performance.now();
      while (sent < total && due(sent) <= t) {
        maxLagMs = Math.max(maxLagMs, t - due(sent));
        client.send(frame(sent, tag + sent));
        sent++;
      }
      if (sent < total) setImmediate(tick);
      else timer = setTimeout(() => reject(new Error(`open loop ${rate}/s: ${done}/${total} answered ${drainTimeoutMs} ms after the last send`)), drainTimeoutMs);
    };
    tick();
  });
}

/** Sequential request/response (one in flight): latency quantiles of `n` requests. */
export async function sequential(client, { n, frame }) {
  const tag = `q${RUN}${++runCounter}_`;
  const lat = new Float64Array(n);
  let failed = 0;
  for (let i = 0; i < n; i++) {
    const id = tag + i;
    const t = performance.now();
    const ok = await new Promise((resolve) => {
      client.onResponse = (rid, ok) => {
        if (rid === id) resolve(ok);
      };
      client.send(frame(i, id));
    });
    lat[i] = performance.now() - t;
    if (!ok) failed++;
  }
  return { n, failed, latencyMs: quantiles(lat) };
}
