/**
 * Logs: pino JSON on stderr; one info line per connection open / close with its id; one debug line
 * per finished command with identifiers and figures only; no secret or redacted value in any line.
 */
import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { CausewayClient } from "../helpers/ws-client.js";
import { finishLogFields, logRedactionPaths } from "../../src/observability/command-log.js";
import { spawnServer } from "../helpers/spawn.js";

const PASSWORD = "hunter2-PASSWORD-never-logged";
const API_KEY = "sk-LIVE-apikey-never-logged";
const FINISH_FIELDS = ["level", "time", "pid", "hostname", "name", "msg", "commandId", "type", "lane", "status", "code", "durationMs", "queueWaitMs"];

describe("server logs", () => {
  it("log one debug line per command finish and one info line per connection, never a redacted value", async () => {
    const redact = JSON.stringify({ login: ["/password", "outcome:/data/token"], "*": ["apiKey"] });
    const server = await spawnServer({ args: ["--log-level", "debug", "--redact", redact] });
    const c = await CausewayClient.connect(server.url);
    await c.request({ type: "create_session", id: "l0", sessionId: "logs" });
    const login = await c.request({ type: "login", id: "l1", sessionId: "logs", user: "ada", password: PASSWORD });
    const token = login.data.token as string;
    expect(token).toMatch(/^[0-9a-f]{32}$/);
    await c.request({ type: "set", id: "l2", sessionId: "logs", path: "/config", value: { apiKey: API_KEY } });
    await c.request({ type: "fail", id: "l3", sessionId: "logs", message: "deliberate" });
    await c.request({ type: "login", id: "l1", sessionId: "logs", user: "ada", password: PASSWORD }); // a replay
    await c.close();
    expect((await server.stop()).code).toBe(0);

    const lines = server.stderr.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const raw of server.stderr) {
      expect(raw).not.toContain(PASSWORD);
      expect(raw).not.toContain(token);
      expect(raw).not.toContain(API_KEY);
    }
    const finishes = lines.filter((l) => l.msg === "command finished");
    expect(finishes.map((l) => l.commandId)).toEqual(["l0", "l1", "l2", "l3"]);
    for (const l of finishes) {
      expect(l.level).toBe(20);
      expect(Object.keys(l).filter((k) => !FINISH_FIELDS.includes(k))).toEqual([]);
      expect(typeof l.durationMs).toBe("number");
    }
    expect(finishes[1]).toMatchObject({ type: "login", lane: "session:logs", status: "succeeded", code: null });
    expect(finishes[3]).toMatchObject({ type: "fail", status: "failed", code: "handler_error" });
    // (the transport adds its own debug lines with the same message)
    const opened = lines.filter((l) => l.msg === "connection opened" && l.level === 30);
    const closed = lines.filter((l) => l.msg === "connection closed" && l.level === 30);
    expect(opened).toHaveLength(1);
    expect(closed).toHaveLength(1);
    expect(opened[0]).toMatchObject({ level: 30, transport: "websocket", actor: "local" });
    expect(opened[0]!.conn).toMatch(/^ws-\d+$/);
    expect(closed[0]).toMatchObject({ level: 30, conn: opened[0]!.conn, frames: 5 });
  });

  it("at the default info level, no per-command line is written", async () => {
    const server = await spawnServer();
    const c = await CausewayClient.connect(server.url);
    await c.request({ type: "create_session", id: "i0", sessionId: "quiet" });
    await c.close();
    expect((await server.stop()).code).toBe(0);
    expect(server.stderr.some((l) => l.includes('"command finished"'))).toBe(false);
    expect(server.stderr.some((l) => l.includes('"connection opened"'))).toBe(true);
  });
});

describe("log redaction paths", () => {
  it("censor every redacted property name, and the last segment of pointer rules, at any of four depths", () => {
    const paths = logRedactionPaths({ login: ["/password", "outcome:/data/token", "/items/0"], "*": ["apiKey", "x-secret"] });
    let out = "";
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        out += chunk.toString();
        done();
      },
    });
    const log = pino({ redact: { paths, censor: "[REDACTED]" } }, sink);
    log.info({ password: "p1", token: "t1", apiKey: "a1", "x-secret": "x1", a: { apiKey: "a2", b: { password: "p2", c: { token: "t3" } } }, keep: "visible" }, "m");
    log.child({ apiKey: "a4" }).info("child");
    expect(out).not.toMatch(/p1|t1|a1|x1|a2|p2|t3|a4/);
    expect(out).toContain("visible");
    expect(out.match(/\[REDACTED\]/g)).toHaveLength(8);
  });

  it("a finish line carries identifiers and figures, never params, data or error text", () => {
    const fields = finishLogFields({ commandId: "c1", type: "t", lane: "server", status: "failed", code: "handler_error", acceptedAt: 10, startedAt: 12, finishedAt: 15 });
    expect(fields).toEqual({ commandId: "c1", type: "t", lane: "server", status: "failed", code: "handler_error", durationMs: 5, queueWaitMs: 2 });
  });
});
