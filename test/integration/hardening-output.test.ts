/**
 * Issue #15 hardening of what handlers produce, against the real server (dist/) with the fixture
 * module fixtures/commands/hardening-commands.mjs, over WebSocket and stdio:
 * 12 (failure codes a handler may use; values JSON cannot carry), 13 (set / patch path rules:
 * banned segments, RFC 6902 existence by own properties), 15 (maxStateBytes, maxResultBytes).
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { promisify } from "node:util";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClientResponse } from "../helpers/ws-client.js";
import { HANDLER_ERROR_CODES } from "../../src/protocol/errors.js";
import { CLI, HARDENING_COMMANDS, ROOT, runServerToExit, tempDir } from "../helpers/spawn.js";
import { startTransport, type TestClient, type TestServer, type TransportKind } from "../helpers/transports.js";

const BAD_KINDS = ["nan", "infinity", "function", "symbol", "map", "set", "date", "bigint", "undefined_in_array", "class", "cycle"] as const;
const { badValue } = (await import(pathToFileURL(HARDENING_COMMANDS).href)) as { badValue: (k: string) => { where: string } };

describe.each<TransportKind>(["websocket", "stdio"])("over %s", (kind) => {
  let server: TestServer;
  let client: TestClient;
  let n = 0;
  const db = join(tempDir(), "causeway.db");

  beforeAll(async () => {
    server = await startTransport(kind, { db, commands: false, args: ["--commands", HARDENING_COMMANDS] });
    client = server.client;
  });

  afterAll(async () => {
    expect((await server?.stop())?.code).toBe(0);
  });

  async function session(state: unknown = {}): Promise<string> {
    const sessionId = `h${++n}-${kind}`;
    expect((await client.request({ type: "create_session", sessionId, state })).success).toBe(true);
    return sessionId;
  }

  const read = (sessionId: string): Promise<ClientResponse> => client.request({ type: "get_state", sessionId });

  it("#15.12 a handler's reserved or undeclared failure code becomes handler_error naming it; handler-usable and declared codes pass", async () => {
    const sid = await session();
    for (const code of ["not_a_real_code", "journal_unavailable", "timeout", "busy", "replay_conflict"]) {
      const r = await client.request({ type: "throw_code", sessionId: sid, code });
      expect(r, code).toMatchObject({ success: false, code: "handler_error", sessionVersion: 0 });
      expect(r.error).toContain(`"${code}"`);
      expect(r.error).toMatch(code === "not_a_real_code" ? /not declared in the errorCodes of throw_code/ : /reserved for the engine/);
    }
    for (const code of [...HANDLER_ERROR_CODES, "out_of_stock"]) {
      const r = await client.request({ type: "throw_code", sessionId: sid, code });
      expect(r, code).toMatchObject({ success: false, code, error: `deliberately failing with ${code}` });
    }
    expect(await read(sid)).toMatchObject({ sessionVersion: 0, data: { state: {} } });
  });

  it("#15.12 a result JSON cannot carry fails with handler_error naming the path of the first bad value", async () => {
    const sid = await session();
    for (const k of BAD_KINDS) {
      const r = await client.request({ type: "return_value", sessionId: sid, kind: k });
      expect(r, k).toMatchObject({ success: false, code: "handler_error", sessionVersion: 0 });
      expect(r.error, k).toContain(`the handler's result is not JSON: `);
      expect(r.error, k).toContain(` at ${badValue(k).where}`);
    }
    // an object property that is undefined is omitted, as JSON has no undefined (documented)
    expect(await client.request({ type: "return_value", sessionId: sid, kind: "undefined_property" })).toMatchObject({ success: true, data: { kept: 1 } });
  });

  it("#15.12 session state JSON cannot carry fails the write with handler_error naming the path; the state is unchanged", async () => {
    const sid = await session({ keep: 1 });
    for (const k of BAD_KINDS) {
      const r = await client.request({ type: "leave_state", sessionId: sid, kind: k });
      expect(r, k).toMatchObject({ success: false, code: "handler_error", sessionVersion: 0 });
      expect(r.error, k).toContain(`the session state the handler left is not JSON: `);
      expect(r.error, k).toContain(` at ${badValue(k).where}`);
    }
    expect(await read(sid)).toMatchObject({ sessionVersion: 0, data: { state: { keep: 1 } } });
    // a server-scope handler creating a session with such a state creates nothing
    const created = await client.request({ type: "create_with", name: `cw-${kind}`, kind: "map" });
    expect(created).toMatchObject({ success: false, code: "handler_error" });
    expect(created.error).toContain("is not JSON: a Map (use a plain object) at /value/m");
    expect(await read(`cw-${kind}`)).toMatchObject({ success: false, code: "session_not_found" });
  });

  it("#15.13 patch replace / remove / test need a target the document owns: an inherited member (toString, constructor) does not exist", async () => {
    const sid = await session({ a: 1, list: [0] });
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ op: "replace", path: "/toString", value: 1 }, `patch op 0 (replace "/toString") failed: the path does not exist`],
      [{ op: "remove", path: "/hasOwnProperty" }, `patch op 0 (remove "/hasOwnProperty") failed: the path does not exist`],
      [{ op: "test", path: "/valueOf", value: null }, `patch op 0 (test "/valueOf") failed: the path does not exist`],
      [{ op: "replace", path: "/list/1", value: 1 }, `patch op 0 (replace "/list/1") failed: the path does not exist`],
      [{ op: "copy", from: "/toString", path: "/b" }, `patch op 0 (copy "/b") failed: the from path "/toString" does not exist`],
      [{ op: "add", path: "/toString/x", value: 1 }, `patch op 0 (add "/toString/x") failed: the parent of the path does not exist`],
    ];
    for (const [op, error] of cases) {
      expect(await client.request({ type: "patch", sessionId: sid, ops: [{ op: "add", path: "/ok", value: true }, op] }), JSON.stringify(op)).toMatchObject({
        success: false,
        code: "patch_failed",
        error: error.replace("op 0", "op 1"),
        sessionVersion: 0,
      });
    }
    expect(await read(sid)).toMatchObject({ sessionVersion: 0, data: { state: { a: 1, list: [0] } } });
    // what exists still works, op by op on the result of the previous op
    const ops = [{ op: "replace", path: "/a", value: 2 }, { op: "add", path: "/b", value: { c: [] } }, { op: "add", path: "/b/c/-", value: 3 }, { op: "test", path: "/b/c/0", value: 3 }, { op: "remove", path: "/list/0" }];
    const ok = await client.request({ type: "patch", id: `p-${sid}`, sessionId: sid, ops });
    expect(ok).toMatchObject({ success: true, data: { applied: 5 }, sessionVersion: 1 });
    expect(await read(sid)).toMatchObject({ data: { state: { a: 2, b: { c: [3] }, list: [] } } });
    // the ops are applied from a copy: the journaled params are what the client sent
    const journaled = await client.request({ type: "get_command", commandId: `p-${sid}` });
    expect((journaled.data as { command: { envelope: { ops: unknown } } }).command.envelope.ops).toEqual(ops);
  });

  it("#15.13 set and patch refuse the same banned segments (__proto__, constructor, prototype), naming the op and the path", async () => {
    const sid = await session({ a: {} });
    const banned = (op: string, path: string, seg: string): string => `${op} at ${JSON.stringify(path)}: path segment "${seg}" is not allowed (__proto__, constructor and prototype are banned in set and patch paths)`;
    for (const [path, seg] of [["/constructor", "constructor"], ["/a/prototype", "prototype"], ["/a/__proto__/x", "__proto__"]] as const) {
      expect(await client.request({ type: "set", sessionId: sid, path, value: 1 })).toMatchObject({ success: false, code: "invalid_command", error: banned("set", path, seg) });
      for (const op of ["add", "replace", "remove", "test"]) {
        const r = await client.request({ type: "patch", sessionId: sid, ops: [{ op: "add", path: "/x", value: 1 }, { op, path, value: 1 }] });
        expect(r, `${op} ${path}`).toMatchObject({ success: false, code: "invalid_command", error: banned(`patch op 1 (${op})`, path, seg) });
      }
      const move = await client.request({ type: "patch", sessionId: sid, ops: [{ op: "move", from: path, path: "/y" }] });
      expect(move).toMatchObject({ success: false, code: "invalid_command", error: banned("patch op 0 (move from)", path, seg) });
    }
    // escaped segments are unescaped before the check: "/constructor" written as a literal key is "/constructor"
    expect(await client.request({ type: "set", sessionId: sid, path: "/a/c~1onstructor", value: 1 })).toMatchObject({ success: true });
    expect(await read(sid)).toMatchObject({ sessionVersion: 1, data: { state: { a: { "c/onstructor": 1 } } } });
  });

  it("#15.12 causeway audit re-executes these handlers and reproduces every outcome (one rule for the engine and the audit)", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, "audit", "--db", db, "--commands", HARDENING_COMMANDS, "--json"], { cwd: ROOT });
    const report = JSON.parse(stdout) as { ok: boolean; reexecution: { reexecuted: number; matched: number; mismatched: number } };
    expect(report.ok).toBe(true);
    expect(report.reexecution.mismatched).toBe(0);
    expect(report.reexecution.matched).toBeGreaterThan(40);
  });
});

describe.each<TransportKind>(["websocket", "stdio"])("size limits over %s", (kind) => {
  let server: TestServer;
  let client: TestClient;
  const db = join(tempDir(), "causeway.db");

  beforeAll(async () => {
    server = await startTransport(kind, { db, commands: false, args: ["--commands", HARDENING_COMMANDS, "--max-state-bytes", "4096", "--max-result-bytes", "8192"] });
    client = server.client;
  });

  afterAll(async () => {
    expect((await server?.stop())?.code).toBe(0);
  });

  it("#15.15 a write that would take the state above maxStateBytes fails with state_too_large; state and version unchanged, nothing of it journaled", async () => {
    const sid = `big-${kind}`;
    expect((await client.request({ type: "create_session", sessionId: sid })).success).toBe(true);
    expect(await client.request({ type: "set", sessionId: sid, path: "/a", value: "a".repeat(3000) })).toMatchObject({ success: true, sessionVersion: 1 });
    const refused = [
      await client.request({ type: "set", id: `too-big-${kind}`, sessionId: sid, path: "/b", value: "b".repeat(3000) }),
      await client.request({ type: "patch", sessionId: sid, ops: [{ op: "add", path: "/b", value: "b".repeat(3000) }] }),
      // bytes, not characters: 3,615 characters, but 600 × "é" is 1,200 bytes of UTF-8 (4,215 in all)
      await client.request({ type: "set", sessionId: sid, path: "/b", value: "é".repeat(600) }),
    ];
    for (const r of refused) {
      expect(r).toMatchObject({ success: false, code: "state_too_large", sessionVersion: 1 });
      expect(r.error).toMatch(/^the session state the handler left is \d+ bytes as JSON, above the 4096-byte limit \(maxStateBytes\)$/);
    }
    expect(await client.request({ type: "get_state", sessionId: sid })).toMatchObject({ sessionVersion: 1, data: { state: { a: "a".repeat(3000) } } });
    // a new session's state counts too
    const created = await client.request({ type: "create_session", sessionId: `big2-${kind}`, state: { blob: "c".repeat(5000) } });
    expect(created).toMatchObject({ success: false, code: "state_too_large" });
    expect(await client.request({ type: "get_state", sessionId: `big2-${kind}` })).toMatchObject({ code: "session_not_found" });
    // a small write still works
    expect(await client.request({ type: "set", sessionId: sid, path: "/b", value: 1 })).toMatchObject({ success: true, sessionVersion: 2 });
    const sql = new Database(db, { readonly: true });
    try {
      const row = sql.prepare("SELECT effect, length(outcome) AS n FROM journal WHERE command_id = ? AND phase = 'finished'").get(`too-big-${kind}`) as { effect: string | null; n: number };
      expect(row.effect).toBeNull();
      expect(row.n).toBeLessThan(300);
    } finally {
      sql.close();
    }
  });

  it("#15.15 a handler result above maxResultBytes fails with result_too_large", async () => {
    const sid = `res-${kind}`;
    expect((await client.request({ type: "create_session", sessionId: sid })).success).toBe(true);
    expect(await client.request({ type: "big_result", sessionId: sid, chars: 8000 })).toMatchObject({ success: true });
    const r = await client.request({ type: "big_result", sessionId: sid, chars: 9000 });
    expect(r).toMatchObject({ success: false, code: "result_too_large", sessionVersion: 0 });
    expect(r.error).toBe("the handler's result is 9011 bytes as JSON, above the 8192-byte limit (maxResultBytes)");
    // server_ready announces both limits
    const ready = await client.waitFor((f) => f.type === "server_ready");
    expect((ready.data as { limits: Record<string, number> }).limits).toMatchObject({ maxStateBytes: 4096, maxResultBytes: 8192 });
  });

  it("#15.15 causeway audit counts size refusals as engine outcomes and matches the rest", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, "audit", "--db", db, "--commands", HARDENING_COMMANDS, "--json"], { cwd: ROOT });
    const report = JSON.parse(stdout) as { ok: boolean; reexecution: { mismatched: number; skipped: Record<string, number> } };
    expect(report.ok).toBe(true);
    expect(report.reexecution.mismatched).toBe(0);
    expect(report.reexecution.skipped).toMatchObject({ "engine_outcome:state_too_large": 4, "engine_outcome:result_too_large": 1 });
  });
});

describe("#15.12 declared error codes", () => {
  it("#15.12 defineCommand refuses a reserved or malformed declared code, so the server does not start", async () => {
    const dir = tempDir();
    const entry = pathToFileURL(join(ROOT, "dist/index.js")).href;
    for (const [code, problem] of [
      ["journal_unavailable", "is reserved for the engine"],
      ["NotSnake", "must be snake_case"],
    ] as const) {
      const module = join(dir, `bad-${code}.mjs`);
      writeFileSync(module, `import { defineCommand } from ${JSON.stringify(entry)};\nexport const c = defineCommand({ type: "c", scope: "session", effect: "read", errorCodes: [${JSON.stringify(code)}], run() {} });\n`);
      const exit = await runServerToExit({ commands: false, args: ["--commands", module] });
      expect(exit.code, code).not.toBe(0);
      expect(exit.stderr).toContain(`command c: error code "${code}" ${problem}`);
    }
  });
});
