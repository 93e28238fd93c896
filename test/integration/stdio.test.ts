/**
 * The same protocol over stdio, with the real server as a child process.
 */
import { describe, expect, it } from "vitest";
import { spawnStdio } from "../helpers/spawn.js";

describe("stdio transport (child process)", () => {
  it("serves FIFO bursts with lifecycle events, survives bad lines, handles CRLF, and drains on EOF with exit 0", async () => {
    const s = spawnStdio();
    const ready = await s.waitFor((f) => f.type === "server_ready");
    expect(ready.data).toMatchObject({ protocolVersion: "1.0.0", transports: ["stdio"] });
    await s.request({ type: "create_session", id: "c", sessionId: "s" });
    // bad input on the same stream
    s.write("this is not json\n");
    s.write("[1,2]\r\n");
    s.write('{"type":"nope","id":"u"}\n');
    await s.waitFor((f) => f.type === "response" && f.id === "u");
    const bad = s.frames.filter((f) => f.type === "response" && f.success === false).map((f) => f.code);
    expect(bad).toEqual(["invalid_command", "invalid_command", "unknown_command"]);
    // a burst written in odd chunks with CRLF line ends, then EOF right away
    const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ type: "set", id: `w${i}`, sessionId: "s", path: "/n", value: i }));
    lines.push(JSON.stringify({ type: "get_state", id: "read", sessionId: "s" }));
    const blob = lines.join("\r\n") + "\r\n";
    for (let i = 0; i < blob.length; i += 37) s.write(blob.slice(i, i + 37));
    s.end();
    const exit = await s.exited;
    expect(exit.code).toBe(0);
    const responses = s.frames.filter((f) => f.type === "response" && typeof f.id === "string" && /^w\d+$/.test(f.id as string));
    expect(responses.map((r) => r.sessionVersion)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const read = s.frames.find((f) => f.type === "response" && f.id === "read") as any;
    expect(read).toMatchObject({ success: true, sessionVersion: 50, data: { state: { n: 49 } } });
    const types = s.frames.filter((f) => (f.data as any)?.commandId === "w7").map((f) => f.type);
    expect(types).toEqual(["command_accepted", "command_started", "command_finished"]);
    // stdout carried only protocol frames (each line parsed as JSON above); logs went to stderr
    expect(s.stdoutLines.every((l) => l.startsWith("{"))).toBe(true);
  });

  it("answers an over-long line with payload_too_large and keeps going", async () => {
    const s = spawnStdio({ args: ["--max-frame-bytes", "1024"] });
    await s.waitFor((f) => f.type === "server_ready");
    s.write(JSON.stringify({ type: "create_session", sessionId: "x".repeat(10) , state: { big: "y".repeat(5000) } }) + "\n");
    const r = await s.waitFor((f) => f.type === "response" && f.code === "payload_too_large");
    expect(r.success).toBe(false);
    const ok = await s.request({ type: "health_check", id: "h" });
    expect(ok.success).toBe(true);
    s.end();
    expect((await s.exited).code).toBe(0);
  });

  it("survives its stdout being closed (EPIPE) and still exits cleanly on EOF", async () => {
    const s = spawnStdio();
    await s.waitFor((f) => f.type === "server_ready");
    s.proc.stdout!.destroy();
    for (let i = 0; i < 20; i++) s.send({ type: "health_check", id: `h${i}` });
    s.end();
    const exit = await s.exited;
    expect(exit.code).toBe(0);
  });
});
