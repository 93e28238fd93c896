/**
 * Issue #15 (hardening), the transport and decoding items, against the real server (dist/cli/main.js)
 * over WebSocket (loopback) and stdio (a child process):
 *   #15.9  numbers that overflow to Infinity → invalid_command with the request's id
 *   #15.10 lone surrogates → invalid_command, the id echoed only when well-formed
 *   #15.11 invalid UTF-8 → invalid_command on both transports, never an altered id; stdio BOM
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Peer } from "../model/harness.js";
import { spawnServer, spawnStdio, type Exit } from "../helpers/spawn.js";

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
    expect(ids.filter((x) => x.startsWith("ls-") && x !== "ls-ok")).toEqual([]);
    expect((await raw.request({ type: "get_command", id: "ls-get", commandId: "ls-2" })).data).toMatchObject({ found: false });
  });

  it("#15.11 a frame that is not valid UTF-8 is invalid_command, never answered with an altered id; the connection stays usable", async () => {
    const cases: Array<[Buffer, string | null, string]> = [
      [bytes('{"type":"set","id":"u-1","sessionId":"s","path":"/a","value":"', [0xff], '"}'), "u-1", "set"],
      [bytes('{"type":"set","id":"u-2', [0xc3], '","sessionId":"s","path":"/a","value":1}'), null, "set"],
      [bytes('{"type":"se', [0xe2, 0x82], 't","id":"u-3","sessionId":"s","path":"/a","value":1}'), "u-3", "parse"],
      [bytes('{"type":"create_session","id":"u-4","sessionId":"', [0xed, 0xa0, 0x80], '"}'), "u-4", "create_session"],
      [bytes('{"type":"create_session","id":"u-5","sessionId":"x', [0xc0, 0xaf], '"}'), "u-5", "create_session"],
      [bytes("{", [0x80, 0x81, 0xfe]), null, "parse"],
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
      const refused = s.frames.filter((f) => f.type === "response" && f.command === "parse");
      expect(refused).toEqual([expect.objectContaining({ success: false, code: "invalid_command" })]);
      s.end();
      expect((await s.exited).code).toBe(0);
    } finally {
      if (s.proc.exitCode === null) s.proc.kill("SIGKILL");
    }
  });
});
