/**
 * Issue #15 (hardening), the transport and decoding items, against the real server (dist/cli/main.js)
 * over WebSocket (loopback) and stdio (a child process):
 *   #15.1  cross-site WebSocket hijacking: foreign `Origin` refused at upgrade (403)
 *   #15.9  numbers that overflow to Infinity → invalid_command with the request's id
 *   #15.10 lone surrogates → invalid_command, the id echoed only when well-formed
 *   #15.11 invalid UTF-8 → invalid_command on both transports, never an altered id; stdio BOM
 *   #15.14 maxConnections (503), maxOutboundBytesTotal (largest buffer cut), stdio backpressure
 */
import { once } from "node:events";
import type { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Peer } from "../model/harness.js";
import { runServerToExit, spawnServer, spawnStdio, type Exit, type SpawnedServer } from "../helpers/spawn.js";

type Frame = Record<string, any>;
type Kind = "websocket" | "stdio";

/** One connection to a freshly spawned server, at the byte level. */
interface Raw {
  frames: Frame[];
  stderr: string[];
  /** one frame: a WebSocket message (text unless `binary`), or a stdio line */
  sendBytes(bytes: Buffer, binary?: boolean): void;
  waitFor(match: (f: Frame) => boolean, ms?: number): Promise<Frame>;
  request(cmd: Frame & { id: string }): Promise<Frame>;
  usable(): boolean;
  stop(): Promise<Exit>;
}

/** a frame the peer has received or will receive */
function peerWait(p: Peer, match: (f: Frame) => boolean, ms = 20_000): Promise<Frame> {
  const hit = p.frames.find(match);
  return hit ? Promise.resolve(hit) : p.next(match, ms);
}

async function openRaw(kind: Kind, args: string[] = []): Promise<Raw> {
  if (kind === "websocket") {
    const server = await spawnServer({ commands: false, args });
    const peer = await Peer.connect(server.url);
    const waitFor = (match: (f: Frame) => boolean, ms = 20_000): Promise<Frame> => peerWait(peer, match, ms);
    return {
      frames: peer.frames,
      stderr: server.stderr,
      sendBytes: (bytes, binary = false) => peer.ws.send(bytes, { binary }),
      waitFor,
      request(cmd) {
        const p = waitFor((f) => f.type === "response" && f.id === cmd.id);
        peer.send(cmd);
        return p;
      },
      usable: () => peer.open,
      async stop() {
        await peer.close();
        return server.stop();
      },
    };
  }
  const s = spawnStdio({ commands: false, args });
  await s.waitFor((f) => f.type === "server_ready");
  return {
    frames: s.frames,
    stderr: s.stderr,
    sendBytes: (bytes) => s.proc.stdin!.write(Buffer.concat([bytes, Buffer.from("\n")])),
    waitFor: s.waitFor,
    request: s.request,
    usable: () => s.proc.exitCode === null,
    stop() {
      s.end();
      return s.exited;
    },
  };
}

/** resolves once a stderr line matches (checked again on every chunk the server writes) */
function waitForLog(stderr: string[], stream: Readable, re: RegExp, ms = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const hit = stderr.find((l) => re.test(l));
      if (!hit) return false;
      stream.removeListener("data", onData);
      clearTimeout(t);
      // the line reader runs on the same chunk; resolve after it has pushed the line
      resolve(hit);
      return true;
    };
    const onData = (): void => void setImmediate(check);
    const t = setTimeout(() => {
      stream.removeListener("data", onData);
      reject(new Error(`no log line matching ${re} within ${ms} ms:\n${stderr.slice(-20).join("\n")}`));
    }, ms);
    if (!check()) stream.on("data", onData);
  });
}

const levelOf = (line: string): number => {
  try {
    return (JSON.parse(line) as { level?: number }).level ?? 0;
  } catch {
    return 0;
  }
};

const bytes = (...parts: Array<string | number[]>): Buffer => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : Buffer.from(p))));

describe.each(["websocket", "stdio"] as const)("hardening (issue #15) over %s", (kind) => {
  let raw: Raw;
  beforeAll(async () => {
    raw = await openRaw(kind);
    expect((await raw.request({ type: "create_session", id: "setup", sessionId: "s" })).success).toBe(true);
  });
  afterAll(async () => {
    expect((await raw.stop()).code).toBe(0);
  });

  it("#15.9 a number that overflows to Infinity (1e400) in any field is invalid_command with the request's id and type, logged at most at debug", async () => {
    const frames: Array<[string, string, string]> = [
      ['{"type":"set","id":"inf-1","sessionId":"s","path":"/a","value":1e400}', "inf-1", "set"],
      ['{"type":"create_session","id":"inf-2","sessionId":"inf","state":{"n":[1,-1e400]}}', "inf-2", "create_session"],
      ['{"type":"get_state","id":"inf-3","sessionId":"s","timeoutMs":1e400}', "inf-3", "get_state"],
      ['{"type":"get_metrics","id":"inf-4","x":1E999}', "inf-4", "get_metrics"],
      ['{"type":"no_such_type","id":"inf-5","n":1e400}', "inf-5", "no_such_type"],
    ];
    const errorsBefore = raw.stderr.filter((l) => levelOf(l) >= 40).length;
    for (const [frame, id, command] of frames) {
      raw.sendBytes(Buffer.from(frame));
      const r = await raw.waitFor((f) => f.type === "response" && f.id === id);
      expect(r, frame).toMatchObject({ type: "response", id, command, success: false, code: "invalid_command" });
      expect(r.error).toMatch(/number out of range/);
    }
    // nothing was created from the refused frame, and the connection is fine
    const sessions = await raw.request({ type: "list_sessions", id: "inf-list" });
    expect((sessions.data.sessions as Array<{ sessionId: string }>).map((x) => x.sessionId)).not.toContain("inf");
    expect(raw.usable()).toBe(true);
    // no warn / error line (the old code logged an error-level stack trace per frame)
    expect(raw.stderr.filter((l) => levelOf(l) >= 40).slice(errorsBefore)).toEqual([]);
  });

  it("#15.10 lone surrogates in ids, session ids, idempotency keys or any string are invalid_command; the id is echoed only when well-formed; nothing is journaled", async () => {
    const cases: Array<[string, string | null, string]> = [
      ['{"type":"create_session","id":"ls-1\\ud800","sessionId":"ls1"}', null, "create_session"],
      ['{"type":"create_session","id":"ls-2","sessionId":"ls\\udc00"}', "ls-2", "create_session"],
      ['{"type":"create_session","id":"ls-3","sessionId":"ls3","idempotencyKey":"k\\ud83d"}', "ls-3", "create_session"],
      ['{"type":"set","id":"ls-4","sessionId":"s","path":"/a","value":{"k":["v\\udfff"]}}', "ls-4", "set"],
      ['{"type":"set","id":"ls-5","sessionId":"s","path":"/a","value":{"\\ud800k":1}}', "ls-5", "set"],
      ['{"type":"set","id":"ls-6","sessionId":"s","path":"/a\\ud800","value":1}', "ls-6", "set"],
      ['{"type":"get_state","id":"ls-7","sessionId":"s","dependsOn":["x\\udbff"]}', "ls-7", "get_state"],
      ['{"type":"x\\ud800","id":"ls-8"}', "ls-8", "unknown"],
    ];
    const from = raw.frames.length;
    for (const [frame] of cases) raw.sendBytes(Buffer.from(frame));
    // a well-formed pair (escaped and literal) is an ordinary character
    const ok = await raw.request({ type: "set", id: "ls-ok", sessionId: "s", path: "/emoji", value: "\ud83d\ude00 😀" });
    expect(ok).toMatchObject({ success: true });
    const responses = raw.frames.slice(from).filter((f) => f.type === "response" && f.id !== "ls-ok");
    expect(responses).toHaveLength(cases.length);
    for (const [i, [frame, id, command]] of cases.entries()) {
      const r = responses[i]!;
      expect(r, frame).toMatchObject({ command, success: false, code: "invalid_command" });
      if (id === null) expect(r, frame).not.toHaveProperty("id");
      else expect(r.id, frame).toBe(id);
      expect(r.error).toMatch(/not well-formed Unicode/);
    }
    // none of them reached the journal
    const history = await raw.request({ type: "get_command_history", id: "ls-history", limit: 500 });
    const ids = (history.data.items as Array<{ commandId: string }>).map((c) => c.commandId);
    expect(ids.filter((x) => x.startsWith("ls-") && x !== "ls-ok" && x !== "ls-history")).toEqual([]);
    expect((await raw.request({ type: "get_command", id: "ls-get", commandId: "ls-2" })).data).toMatchObject({ found: false });
  });

  it("#15.11 a frame that is not valid UTF-8 is invalid_command, never answered with an altered id; the connection stays usable", async () => {
    const cases: Array<[Buffer, string | null, string]> = [
      [bytes('{"type":"set","id":"u-1","sessionId":"s","path":"/a","value":"', [0xff], '"}'), "u-1", "set"],
      [bytes('{"type":"set","id":"u-2', [0xc3], '","sessionId":"s","path":"/a","value":1}'), null, "set"],
      [bytes('{"type":"se', [0xe2, 0x82], 't","id":"u-3","sessionId":"s","path":"/a","value":1}'), "u-3", "unknown"],
      [bytes('{"type":"create_session","id":"u-4","sessionId":"', [0xed, 0xa0, 0x80], '"}'), "u-4", "create_session"],
      [bytes('{"type":"create_session","id":"u-5","sessionId":"x', [0xc0, 0xaf], '"}'), "u-5", "create_session"],
      [bytes("{", [0x80, 0x81, 0xfe]), null, "unknown"],
    ];
    const from = raw.frames.length;
    // over WebSocket as text frames (the old server closed them with 1007), the first also as binary
    for (const [frame] of cases) raw.sendBytes(frame);
    raw.sendBytes(cases[0]![0], true);
    const after = await raw.request({ type: "get_state", id: "u-after", sessionId: "s" });
    expect(after.success).toBe(true);
    const responses = raw.frames.slice(from).filter((f) => f.type === "response" && f.id !== "u-after");
    expect(responses).toHaveLength(cases.length + 1);
    for (const [i, [frame, id, command]] of [...cases, cases[0]!].entries()) {
      const r = responses[i]!;
      expect(r, frame.toString("hex")).toMatchObject({ command, success: false, code: "invalid_command", error: "frame is not valid UTF-8" });
      if (id === null) expect(r, frame.toString("hex")).not.toHaveProperty("id");
      else expect(r.id).toBe(id);
    }
    // no frame ever carries an id or text the client did not send
    expect(raw.frames.filter((f) => JSON.stringify(f).includes("\ufffd"))).toEqual([]);
    expect(raw.usable()).toBe(true);
    expect((await raw.request({ type: "get_state", id: "u-state", sessionId: "s" })).data).toMatchObject({ state: { emoji: "\ud83d\ude00 😀" } });
  });
});

describe("hardening (issue #15): stdio only", () => {
  it("#15.11 a UTF-8 byte order mark at the start of stdio input is accepted (and only there)", async () => {
    const s = spawnStdio({ commands: false });
    try {
      s.proc.stdin!.write(bytes([0xef, 0xbb, 0xbf], '{"type":"create_session","id":"bom-1","sessionId":"bom"}\n'));
      expect(await s.waitFor((f) => f.type === "response" && f.id === "bom-1")).toMatchObject({ success: true, command: "create_session" });
      // a BOM later in the stream is not JSON
      s.proc.stdin!.write(bytes([0xef, 0xbb, 0xbf], '{"type":"list_sessions","id":"bom-2"}\n', '{"type":"list_sessions","id":"bom-3"}\n'));
      expect(await s.waitFor((f) => f.type === "response" && f.id === "bom-3")).toMatchObject({ success: true });
      const refused = s.frames.filter((f) => f.type === "response" && f.command === "unknown");
      expect(refused).toEqual([expect.objectContaining({ success: false, code: "invalid_command" })]);
      s.end();
      expect((await s.exited).code).toBe(0);
    } finally {
      if (s.proc.exitCode === null) s.proc.kill("SIGKILL");
    }
  });

  it("#15.14 stdio applies backpressure: a reader that stops reading stops the server from reading commands; both resume when it reads", async () => {
    const s = spawnStdio({ commands: false, args: ["--max-outbound-bytes", "65536", "--log-level", "debug"] });
    try {
      await s.waitFor((f) => f.type === "server_ready");
      // the reader stops reading stdout
      s.proc.stdout!.pause();
      // each ~40-byte frame of an unknown type is answered at once (no journal round trip) with a
      // ~170-byte refusal: the server's output fills long before its input is read
      const N = 20_000;
      const input = Buffer.from(Array.from({ length: N }, (_, i) => `{"type":"no_such_type","id":"h-${i}"}\n`).join(""));
      const stdin = s.proc.stdin!;
      stdin.write(input);
      await waitForLog(s.stderr, s.proc.stderr!, /input paused until the reader catches up/);
      // the server has stopped reading: most of our commands are still queued on our side of the pipe
      expect(stdin.writableLength).toBeGreaterThan(input.length / 2);
      // the reader reads again: every command is answered, in order, and our input drains
      const drained = stdin.writableLength > 0 ? once(stdin, "drain") : Promise.resolve();
      s.proc.stdout!.resume();
      await s.waitFor((f) => f.type === "response" && f.id === `h-${N - 1}`, 120_000);
      await drained;
      const ids = s.frames.filter((f) => f.type === "response").map((f) => f.id as string);
      expect(ids).toEqual(Array.from({ length: N }, (_, i) => `h-${i}`));
      expect(s.stderr.some((l) => /input resumed/.test(l))).toBe(true);
      s.end();
      expect((await s.exited).code).toBe(0);
    } finally {
      if (s.proc.exitCode === null) s.proc.kill("SIGKILL");
    }
  }, 180_000);
});

/** the HTTP status of an upgrade: 101 when it opens (then closed again) */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once("open", () => {
      resolve(101);
      ws.close();
    });
    ws.once("unexpected-response", (req, res) => {
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    ws.once("error", reject);
  });
}

describe("hardening (issue #15): WebSocket only", () => {
  it("#15.1 the open server refuses an upgrade from a foreign Origin (403, logged); its own loopback origins, --allow-origin origins and clients without Origin connect", async () => {
    const server = await spawnServer({ commands: false, args: ["--allow-origin", "https://app.example", "--allow-origin", "https://other.example:8443"] });
    try {
      const own = (host: string): string => `http://${host}:${server.port}`;
      expect(await upgradeStatus(server.url, { Origin: "https://evil.example" })).toBe(403);
      await waitForLog(server.stderr, server.proc.stderr!, /"audit":"origin_refused".*"origin":"https:\/\/evil\.example"/);
      expect(await upgradeStatus(server.url, { Origin: `http://127.0.0.1:${server.port + 1}` })).toBe(403);
      expect(await upgradeStatus(server.url, { Origin: "null" })).toBe(403);
      for (const origin of [own("127.0.0.1"), own("localhost"), own("[::1]"), "https://app.example", "https://other.example:8443"]) {
        expect(await upgradeStatus(server.url, { Origin: origin }), origin).toBe(101);
      }
      // a page on an allowed origin (and a non-browser client) can drive the server
      const p = await Peer.connect(server.url);
      expect((await p.request({ type: "list_sessions", id: "no-origin" })).success).toBe(true);
      await p.close();
    } finally {
      expect((await server.stop()).code).toBe(0);
    }
    // an --allow-origin entry that is not an origin refuses to start (exit 2), naming it
    const bad = await runServerToExit({ commands: false, args: ["--allow-origin", "https://app.example/path"] });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--allow-origin: "https:\/\/app\.example\/path" is not an origin/);
  });

  it("#15.1 CAUSEWAY_ALLOW_ORIGIN allows an origin; a foreign page still cannot run list_sessions or delete_session", async () => {
    const server = await spawnServer({ commands: false, env: { CAUSEWAY_ALLOW_ORIGIN: "https://app.example" } });
    try {
      expect(await upgradeStatus(server.url, { Origin: "https://app.example" })).toBe(101);
      // the attack of the issue: the upgrade never completes, so no command can be sent
      const evil = new WebSocket(server.url, { headers: { Origin: "https://evil.example" } });
      const [err] = (await once(evil, "error")) as [Error];
      expect(err.message).toMatch(/Unexpected server response: 403/);
      await waitForLog(server.stderr, server.proc.stderr!, /"audit":"origin_refused"/);
    } finally {
      expect((await server.stop()).code).toBe(0);
    }
  });

  it("#15.14 upgrade number maxConnections+1 is refused with HTTP 503 and a logged reason; a freed slot opens again", async () => {
    const server = await spawnServer({ commands: false, args: ["--max-connections", "3"] });
    try {
      const peers = [await Peer.connect(server.url), await Peer.connect(server.url), await Peer.connect(server.url)];
      expect(await upgradeStatus(server.url)).toBe(503);
      await waitForLog(server.stderr, server.proc.stderr!, /upgrade refused \(503\): maxConnections/);
      // the open ones are unaffected
      expect((await peers[2]!.request({ type: "list_sessions", id: "mc-1" })).success).toBe(true);
      // close one; once the server has seen it go, a new client gets in
      await peers[0]!.close();
      await waitForLog(server.stderr, server.proc.stderr!, /"msg":"connection closed"/);
      expect(await upgradeStatus(server.url)).toBe(101);
      await Promise.all(peers.slice(1).map((p) => p.close()));
    } finally {
      expect((await server.stop()).code).toBe(0);
    }
  });

  it("#15.14 with a small maxOutboundBytesTotal the connection holding the largest buffer is cut as a slow consumer; the others keep every response", async () => {
    const BUDGET = 4 * 1024 * 1024;
    // the per-connection rule (4 × maxOutboundBytes = 256 MiB) can never fire here
    const server: SpawnedServer = await spawnServer({ commands: false, args: ["--max-outbound-bytes", String(64 * 1024 * 1024), "--max-outbound-bytes-total", String(BUDGET)] });
    try {
      const setup = await Peer.connect(server.url);
      expect((await setup.request({ type: "create_session", id: "b-create", sessionId: "big" })).success).toBe(true);
      expect((await setup.request({ type: "set", id: "b-set", sessionId: "big", path: "/pad", value: "x".repeat(200_000) })).success).toBe(true);
      // get_command of b-set answers with its 200 kB params: an immediate command, nothing journaled
      const probe = await setup.request({ type: "get_command", id: "b-probe", commandId: "b-set" });
      const answerBytes = setup.raw[setup.frames.indexOf(probe)]!.length;
      const B_COUNT = 4;
      const A_COUNT = 150;
      // B alone never holds half the budget; A's answers are far beyond the budget plus the kernel's socket buffers
      expect(B_COUNT * answerBytes).toBeLessThan(BUDGET / 2);
      expect(A_COUNT * answerBytes).toBeGreaterThan(BUDGET + 16 * 1024 * 1024);

      const b = await Peer.connect(server.url);
      const a = await Peer.connect(server.url);
      await peerWait(b, (f) => f.type === "startup_recovery_summary");
      await peerWait(a, (f) => f.type === "startup_recovery_summary");
      b.ws.pause();
      a.ws.pause();
      for (let i = 0; i < B_COUNT; i++) b.send({ type: "get_command", id: `b-${i}`, commandId: "b-set" });
      for (let i = 0; i < A_COUNT; i++) a.send({ type: "get_command", id: `a-${i}`, commandId: "b-set" });
      await waitForLog(server.stderr, server.proc.stderr!, /closing slow consumer: the outbound bytes of all connections are over maxOutboundBytesTotal/);

      // A (the largest buffer) was cut: it reads what was still queued, then the socket closes
      a.ws.resume();
      expect([1008, 1006]).toContain(await a.closed);
      expect(a.frames.filter((f) => f.type === "response").length).toBeLessThan(A_COUNT);
      // B was not: every one of its answers arrives, and it keeps working
      b.ws.resume();
      for (let i = 0; i < B_COUNT; i++) expect(await peerWait(b, (f) => f.id === `b-${i}`)).toMatchObject({ success: true });
      expect((await b.request({ type: "list_sessions", id: "b-after" })).success).toBe(true);
      expect(b.open).toBe(true);
      await b.close();
      await setup.close();
    } finally {
      expect((await server.stop()).code).toBe(0);
    }
  }, 120_000);
});
