import { once } from "node:events";
import { PassThrough, Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { Connection, ConnectionHandler } from "../../src/protocol/connection.js";
import { createStdioTransport } from "../../src/transport/stdio.js";

const logger = pino({ level: "silent" });

interface Recorder extends ConnectionHandler {
  opened: Connection[];
  frames: string[];
  oversize: number[];
  invalid: string[];
  closed: number;
  /** resolves once `n` frames (incl. oversize and invalid UTF-8 reports) have arrived */
  waitFrames(n: number): Promise<void>;
}

function recorder(onFrame?: (conn: Connection, frame: string) => void): Recorder {
  let waiters: Array<{ n: number; resolve: () => void }> = [];
  const r: Recorder = {
    opened: [],
    frames: [],
    oversize: [],
    invalid: [],
    closed: 0,
    onOpen(conn) {
      r.opened.push(conn);
    },
    onFrame(conn, frame) {
      r.frames.push(frame);
      onFrame?.(conn, frame);
      notify();
    },
    onOversize(_conn, bytes) {
      r.oversize.push(bytes);
      notify();
    },
    onInvalidUtf8(_conn, lossy) {
      r.invalid.push(lossy);
      notify();
    },
    onClose() {
      r.closed++;
    },
    waitFrames(n) {
      if (r.frames.length + r.oversize.length + r.invalid.length >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
  };
  const notify = (): void => {
    const total = r.frames.length + r.oversize.length + r.invalid.length;
    waiters = waiters.filter((w) => (total >= w.n ? (w.resolve(), false) : true));
  };
  return r;
}

function linesOf(chunks: string[]): string[] {
  return chunks.join("").split("\n").filter((l) => l.length > 0);
}

function setup(opts: { maxLineBytes?: number; maxOutboundBytes?: number; output?: Writable; onFrame?: (c: Connection, f: string) => void } = {}) {
  const input = new PassThrough();
  const outChunks: string[] = [];
  const output =
    opts.output ??
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        outChunks.push(chunk.toString());
        cb();
      },
    });
  const handler = recorder(opts.onFrame);
  let ended = 0;
  let resolveEnd!: () => void;
  const endCalled = new Promise<void>((r) => (resolveEnd = r));
  const t = createStdioTransport({
    input,
    output,
    maxLineBytes: opts.maxLineBytes ?? 1024,
    maxOutboundBytes: opts.maxOutboundBytes ?? 1 << 20,
    handler,
    logger,
    onEnd: () => {
      ended++;
      resolveEnd();
    },
  });
  return { input, output, outChunks, handler, t, endCalled, ended: () => ended };
}

describe("stdio transport", () => {
  it("opens one local connection and delivers LF and CRLF lines, also across partial chunks", async () => {
    const s = setup();
    expect(s.handler.opened).toHaveLength(1);
    const conn = s.handler.opened[0]!;
    expect(conn).toBe(s.t.connection);
    expect(conn).toMatchObject({ id: "stdio", transport: "stdio", actor: "local", roles: [] });

    s.input.write('{"a":1}\r\n{"b"');
    s.input.write(':2}\n\n{"c":"');
    s.input.write(Buffer.from([0xc3])); // first byte of "é"
    s.input.write(Buffer.from([0xa9]));
    s.input.write('"}\r');
    s.input.write("\n");
    await s.handler.waitFrames(3);
    expect(s.handler.frames).toEqual(['{"a":1}', '{"b":2}', '{"c":"é"}']);
  });

  it("reports an over-long line through onOversize and keeps serving the next line", async () => {
    const s = setup({ maxLineBytes: 16 });
    s.input.write("x".repeat(10));
    s.input.write("y".repeat(100) + "\n");
    s.input.write('{"ok":true}\n');
    await s.handler.waitFrames(2);
    expect(s.handler.oversize).toEqual([110]);
    expect(s.handler.frames).toEqual(['{"ok":true}']);
  });

  it("sends frames as lines and calls onEnd once on EOF; the connection can still answer afterwards", async () => {
    const s = setup({ onFrame: (c, f) => c.send(`{"echo":${f}}`, "response") });
    s.input.write('{"n":1}\n{"n":2}'); // the last line is unterminated
    s.input.end();
    await s.endCalled;
    expect(s.ended()).toBe(1);
    expect(s.handler.frames).toEqual(['{"n":1}', '{"n":2}']);
    // after EOF, an in-flight command still gets its response
    expect(s.t.connection.send('{"late":true}', "response")).toBe(true);
    expect(s.t.connection.closed).toBe(false);
    expect(linesOf(s.outChunks)).toEqual(['{"echo":{"n":1}}', '{"echo":{"n":2}}', '{"late":true}']);
    s.t.close();
    s.t.close();
    expect(s.handler.closed).toBe(1);
    expect(s.t.connection.send("{}", "response")).toBe(false);
  });

  it("survives an output that fails with EPIPE: no throw, sends return false, input still ends cleanly", async () => {
    const output = new Writable({
      write(_chunk, _enc, cb) {
        const err = Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
        cb(err);
      },
    });
    const s = setup({ output, onFrame: (c, f) => c.send(f, "response") });
    const errored = once(output, "error");
    expect(s.t.connection.send('{"first":1}', "response")).toBe(true);
    await errored;
    expect(s.t.connection.closed).toBe(true);
    expect(s.t.connection.send('{"second":1}', "response")).toBe(false);
    expect(s.t.connection.send('{"e":1}', "event")).toBe(false);
    s.input.write('{"n":1}\n');
    s.input.end();
    await s.endCalled;
    expect(s.handler.frames).toEqual(['{"n":1}']);
  });

  it("treats a destroyed output as closed without throwing", async () => {
    const out = new PassThrough();
    const s = setup({ output: out });
    out.destroy();
    await once(out, "close");
    expect(() => s.t.connection.send("{}", "response")).not.toThrow();
    expect(s.t.connection.send("{}", "event")).toBe(false);
  });

  it("drops events over the outbound bound, never responses, and sends one events_dropped notice after draining", async () => {
    // a sink that holds every write until we release it
    const pending: Array<() => void> = [];
    const written: string[] = [];
    const output = new Writable({
      highWaterMark: 64,
      write(chunk: Buffer, _enc, cb) {
        written.push(chunk.toString());
        pending.push(cb);
      },
    });
    const s = setup({ output, maxOutboundBytes: 100 });
    const conn = s.t.connection;
    const frame = (i: number): string => JSON.stringify({ type: "evt", i, pad: "p".repeat(20) });

    let sentEvents = 0;
    for (let i = 0; i < 10; i++) if (conn.send(frame(i), "event")) sentEvents++;
    expect(conn.bufferedBytes()).toBeGreaterThan(100);
    const dropped = 10 - sentEvents;
    expect(dropped).toBeGreaterThan(0);
    // responses go through whatever the buffer holds
    for (let i = 0; i < 5; i++) expect(conn.send(JSON.stringify({ type: "response", id: `r${i}` }), "response")).toBe(true);
    // while the drop is pending, later events are dropped too (one contiguous gap)
    expect(conn.send(frame(99), "event")).toBe(false);

    // drain by hand until the notice shows up
    const notice = new Promise<void>((resolve) => {
      const check = (): void => {
        if (written.some((w) => w.includes("events_dropped"))) return resolve();
        const cb = pending.shift();
        if (cb) cb();
        setImmediate(check);
      };
      check();
    });
    await notice;
    const lines = linesOf(written).map((l) => JSON.parse(l) as { type: string; id?: string; data?: { count: number } });
    expect(lines.filter((l) => l.type === "response").map((l) => l.id)).toEqual(["r0", "r1", "r2", "r3", "r4"]);
    const notices = lines.filter((l) => l.type === "events_dropped");
    expect(notices).toEqual([{ type: "events_dropped", data: { count: dropped + 1 } }]);
    // after the notice, events flow again
    while (pending.length) pending.shift()!();
    expect(conn.send(frame(100), "event")).toBe(true);
  });

  it("#15.14 pauses its input while the output is over its bound, and resumes once the reader catches up", async () => {
    // a reader that takes nothing until we release its writes
    const pending: Array<() => void> = [];
    const written: string[] = [];
    const output = new Writable({
      highWaterMark: 64,
      write(chunk: Buffer, _enc, cb) {
        written.push(chunk.toString());
        pending.push(cb);
      },
    });
    const answer = (f: string): string => JSON.stringify({ type: "response", echo: f, pad: "p".repeat(60) });
    const s = setup({ output, maxOutboundBytes: 150, onFrame: (c, f) => c.send(answer(f), "response") });
    const lines = Array.from({ length: 10 }, (_, i) => `{"n":${i}}\n`);
    for (const l of lines) s.input.write(l);
    // the first answer (108 bytes) fits the 150-byte bound, the second passes it: input pauses there
    await s.handler.waitFrames(2);
    expect(s.input.isPaused()).toBe(true);
    expect(s.handler.frames).toEqual(['{"n":0}', '{"n":1}']);
    // everything after stays unread in the input, so memory holds one bound's worth of answers
    expect(s.input.readableLength).toBe(lines.slice(2).join("").length);
    expect(s.t.connection.bufferedBytes()).toBeGreaterThan(150);

    // the reader catches up: input resumes, every line is answered in order
    const all = s.handler.waitFrames(10);
    let done = false;
    void all.then(() => (done = true));
    while (!done || pending.length > 0) {
      const cb = pending.shift();
      if (cb) cb();
      await new Promise((r) => setImmediate(r));
    }
    expect(s.handler.frames).toEqual(lines.map((l) => l.trim()));
    expect(s.input.isPaused()).toBe(false);
    expect(linesOf(written).map((l) => (JSON.parse(l) as { echo: string }).echo)).toEqual(lines.map((l) => l.trim()));
    // EOF still ends the transport once the input is read
    s.input.end();
    await s.endCalled;
  });
});
