/**
 * Issue #4 item 5: redaction before persist. The redactor itself (rules, copies, never mutates),
 * and the engine with it: what reaches the journal, what the client sees, replay / conflict
 * detection through the unredacted fingerprint, and restart recovery of a redacted command.
 */
import { sessionRows } from "../helpers/session-rows.js";
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defineCommand } from "../../src/commands/define.js";
import type { NewRecord } from "../../src/engine/committer.js";
import { REASON_REDACTED } from "../../src/engine/recovery.js";
import { containsRedacted, createRedactor, REDACTED } from "../../src/journal/redaction.js";
import { parseRedactRules } from "../../src/config/redaction-rules.js";
import { SqliteStore } from "../../src/journal/sqlite-store.js";
import type { JournalRecord } from "../../src/journal/types.js";
import { fingerprint } from "../../src/protocol/fingerprint.js";
import { startInProc } from "../helpers/inproc.js";

const base = (over: Partial<NewRecord>): NewRecord => ({
  lane: "session:s",
  commandId: "c1",
  sessionId: "s",
  phase: "accepted",
  recordedAt: 1,
  type: "login",
  actor: "local",
  fingerprint: "fp",
  ...over,
});

function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

describe("createRedactor", () => {
  it("replaces params at JSON Pointers, outcome data / error, and bare keys at any depth; never mutates", () => {
    const r = createRedactor({
      login: ["/password", "/nested/a~1b", "/list/1", "/missing/deep", "outcome:/data/token", "outcome:/error"],
      "*": ["apiKey"],
    });
    const accepted = deepFreeze(
      base({ params: { user: "ada", password: "p", nested: { "a/b": { x: 1 }, keep: 2 }, list: ["a", "b", "c"], deep: [{ apiKey: "k1" }, { inner: { apiKey: 7 } }], untouched: { z: [1] } } }),
    );
    const before = JSON.stringify(accepted);
    const out = r(accepted);
    expect(JSON.stringify(accepted)).toBe(before);
    expect(out).not.toBe(accepted);
    expect(out.params).toEqual({
      user: "ada",
      password: REDACTED,
      nested: { "a/b": REDACTED, keep: 2 },
      list: ["a", REDACTED, "c"],
      deep: [{ apiKey: REDACTED }, { inner: { apiKey: REDACTED } }],
      untouched: { z: [1] },
    });
    // changed branches are copies; untouched branches are shared
    expect((out.params as any).deep).not.toBe((accepted.params as any).deep);
    expect((out.params as any).untouched).toBe((accepted.params as any).untouched);

    const finished = deepFreeze(
      base({
        phase: "finished",
        status: "failed",
        outcome: { command: "login", success: false, data: { token: "t", user: "ada", more: { apiKey: "k" } }, error: "bad password p", code: "handler_error" },
        effect: { kind: "write", sessionId: "s", state: { apiKey: "in-state" }, version: 2 },
        detail: { clock: [1], apiKey: "detail" },
      }),
    );
    const f = r(finished);
    expect(f.outcome).toEqual({ command: "login", success: false, data: { token: REDACTED, user: "ada", more: { apiKey: REDACTED } }, error: REDACTED, code: "handler_error" });
    // session state and detail are never redacted
    expect(f.effect).toBe(finished.effect);
    expect(f.detail).toBe(finished.detail);
  });

  it("applies '*' rules to every type, type rules only to their type, and returns a record it does not change as is", () => {
    const r = createRedactor({ set: ["/value"], "*": ["secret"] });
    const other = base({ type: "patch", params: { value: 1, secret: 2 } });
    expect(r(other).params).toEqual({ value: 1, secret: REDACTED });
    expect(r(base({ type: "set", params: { value: { a: 1 }, secret: 2 } })).params).toEqual({ value: REDACTED, secret: REDACTED });
    const clean = base({ type: "patch", params: { nothing: 1 }, outcome: { command: "patch", success: true, data: { ok: 1 } } });
    expect(r(clean)).toBe(clean);
    const started = base({ phase: "started" });
    expect(r(started)).toBe(started);
    // idempotent: redacting a redacted record changes nothing
    const once = r(base({ type: "set", params: { value: 3 } }));
    expect(r(once)).toBe(once);
    // no rules: identity
    const none = createRedactor({});
    expect(none.active).toBe(false);
    expect(none(other)).toBe(other);
  });

  it("handles __proto__ keys as plain data, and any JSON type as the redacted value", () => {
    const r = createRedactor({ x: ["/__proto__/polluted", "/n", "/obj", "/nul"] });
    const params = JSON.parse('{"__proto__":{"polluted":"yes"},"n":5,"obj":{"a":[1]},"nul":null}') as Record<string, unknown>;
    const out = r(base({ type: "x", params })).params as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.stringify(out)).toBe('{"__proto__":{"polluted":"[REDACTED]"},"n":"[REDACTED]","obj":"[REDACTED]","nul":"[REDACTED]"}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("validates rules with messages naming the entry", () => {
    expect(() => parseRedactRules([])).toThrow(/expected an object/);
    expect(() => parseRedactRules({ login: "/password" })).toThrow(/login: expected a list of rule strings/);
    expect(() => parseRedactRules({ login: ["/a~2"] })).toThrow(/not a valid JSON Pointer/);
    expect(() => parseRedactRules({ login: ["outcome:/command"] })).toThrow(/outcome rule/);
    expect(() => parseRedactRules({ login: ["outcome:/error/x"] })).toThrow(/outcome rule/);
    expect(() => parseRedactRules({ login: ["a/b"] })).toThrow(/bare property name/);
    expect(() => parseRedactRules({ login: [""] })).toThrow(/non-empty/);
    expect(parseRedactRules({ "*": ["token", "/a/0", "outcome:/data", "outcome:/error"] })).toEqual({ "*": ["token", "/a/0", "outcome:/data", "outcome:/error"] });
    expect(containsRedacted({ a: [1, { b: REDACTED }] })).toBe(true);
    expect(containsRedacted({ a: [1, { b: "x" }] })).toBe(false);
  });
});

const login = defineCommand<{ user: string; password: string }>({
  type: "login",
  scope: "session",
  effect: "write",
  deterministic: true,
  params: { type: "object", properties: { user: { type: "string" }, password: { type: "string" } }, required: ["user", "password"] },
  run(ctx, { user, password }) {
    ctx.state.user = user;
    return { ok: true, token: createHash("sha256").update(`${user}:${password}`).digest("hex").slice(0, 16) };
  },
});

const RULES = { login: ["/password", "outcome:/data/token"], set: ["/value"] };

describe("engine with redaction", () => {
  it("journals redacted params and outcome data, answers live with the real data, replays the stored (redacted) outcome", async () => {
    const db = join(mkdtempSync(join(tmpdir(), "causeway-redact-")), "journal.db");
    const server = startInProc({ config: { db, redact: RULES }, commands: [login] });
    const c = server.connect();
    await c.request({ type: "create_session", sessionId: "s" });
    const env = { type: "login", id: "L1", sessionId: "s", user: "ada", password: "s3cret-pw" };
    const live = await c.request(env);
    const token = createHash("sha256").update("ada:s3cret-pw").digest("hex").slice(0, 16);
    expect(live).toMatchObject({ success: true, data: { ok: true, token }, sessionVersion: 1 });

    const sql = server.store.database();
    const rows = sql.prepare("SELECT phase, params, outcome, fingerprint FROM journal WHERE command_id = 'L1' ORDER BY seq").all() as Array<Record<string, string | null>>;
    expect(rows.map((r) => r.phase)).toEqual(["accepted", "started", "finished"]);
    expect(JSON.parse(rows[0]!.params!)).toEqual({ user: "ada", password: REDACTED });
    expect(JSON.parse(rows[2]!.outcome!).data).toEqual({ ok: true, token: REDACTED });
    // the fingerprint is the unredacted envelope's
    const { id: _id, ...semantic } = env;
    expect(rows[0]!.fingerprint).toBe(fingerprint(semantic));
    const cmd = sql.prepare("SELECT params, outcome FROM commands WHERE command_id = 'L1'").get() as Record<string, string>;
    expect(cmd.params).not.toContain("s3cret-pw");
    expect(cmd.outcome).not.toContain(token);
    // session state holds what the handler stored (the user), never the password
    expect(sessionRows(sql, "session_id = 's'")[0]!.state).toBe('{"user":"ada"}');

    // same id + same params: replay of the STORED outcome (the token is redacted there)
    const replay = await c.request(env);
    expect(replay).toMatchObject({ success: true, replayed: true, data: { ok: true, token: REDACTED }, sessionVersion: 1 });
    // same id + another password: the fingerprints differ, so it is a conflict
    const conflict = await c.request({ ...env, password: "other" });
    expect(conflict).toMatchObject({ success: false, code: "replay_conflict" });
    // idempotency keys work the same way
    await c.request({ type: "login", id: "L2", sessionId: "s", user: "bob", password: "pw2", idempotencyKey: "k" });
    expect(await c.request({ type: "login", id: "L3", sessionId: "s", user: "bob", password: "pw2", idempotencyKey: "k" })).toMatchObject({ replayed: true });
    expect(await c.request({ type: "login", id: "L4", sessionId: "s", user: "bob", password: "pw3", idempotencyKey: "k" })).toMatchObject({ code: "replay_conflict" });

    const all = JSON.stringify(sql.prepare("SELECT * FROM journal").all()) + JSON.stringify(sql.prepare("SELECT * FROM commands").all());
    for (const secret of ["s3cret-pw", token, "pw2", "pw3", '"other"']) expect(all).not.toContain(secret);
    await server.stop();

    // after a restart, the retry still replays and the other password still conflicts
    const again = startInProc({ config: { db, redact: RULES }, commands: [login] });
    const c2 = again.connect();
    expect(await c2.request(env)).toMatchObject({ replayed: true, data: { token: REDACTED } });
    expect(await c2.request({ ...env, password: "other" })).toMatchObject({ code: "replay_conflict" });
    await again.stop();
  });

  it("does not redact session state: a redacted `set` value is still stored as state (documented)", async () => {
    const server = startInProc({ config: { redact: RULES } });
    const c = server.connect();
    await c.request({ type: "create_session", sessionId: "s" });
    await c.request({ type: "set", sessionId: "s", path: "/v", value: "visible-in-state" });
    const sql = server.store.database();
    const accepted = sql.prepare("SELECT params FROM journal WHERE type = 'set' AND phase = 'accepted'").get() as { params: string };
    expect(JSON.parse(accepted.params)).toEqual({ path: "/v", value: REDACTED });
    const effect = sql.prepare("SELECT effect FROM journal WHERE type = 'set' AND phase = 'finished'").get() as { effect: string };
    expect(effect.effect).toContain("visible-in-state");
    expect(await c.request({ type: "get_state", sessionId: "s" })).toMatchObject({ data: { state: { v: "visible-in-state" } } });
    await server.stop();
  });

  it("restart recovery interrupts an unstarted command whose params were redacted, instead of running it with placeholders", async () => {
    const db = join(mkdtempSync(join(tmpdir(), "causeway-redact-rec-")), "journal.db");
    const store = new SqliteStore({ path: db, durability: "full" });
    store.open();
    let seq = 0;
    const lanes = new Map<string, number>();
    const row = (r: Omit<JournalRecord, "seq" | "laneSeq" | "recordedAt" | "actor">): JournalRecord => {
      const ls = (lanes.get(r.lane) ?? 0) + 1;
      lanes.set(r.lane, ls);
      return { recordedAt: Date.now() + seq, actor: "local", ...r, seq: ++seq, laneSeq: ls } as JournalRecord;
    };
    const createOutcome = { command: "create_session", success: true, data: { sessionId: "s" } };
    store.commit([
      row({ lane: "server", commandId: "create", sessionId: null, phase: "accepted", type: "create_session", fingerprint: "fp-c", params: { sessionId: "s" }, timeoutMs: 30_000 }),
      row({ lane: "server", commandId: "create", sessionId: null, phase: "finished", type: "create_session", fingerprint: "fp-c", status: "succeeded", outcome: createOutcome, effect: { kind: "create", sessionId: "s", state: {}, version: 0 } }),
    ]);
    const accepted = (id: string, type: string, params: Record<string, unknown>): JournalRecord =>
      row({ lane: "session:s", commandId: id, sessionId: "s", phase: "accepted", type, explicitId: true, fingerprint: `fp-${id}`, params, timeoutMs: 30_000 });
    store.commit([accepted("queued-login", "login", { user: "ada", password: REDACTED }), accepted("queued-set", "set", { path: "/x", value: 1 })]);
    store.close();

    const server = startInProc({ config: { db, redact: RULES }, commands: [login] });
    expect(server.engine.recovery()).toMatchObject({ requeued: { count: 1, ids: ["queued-set"] }, interrupted: { count: 1, ids: ["queued-login"] } });
    const c = server.connect();
    await c.request({ type: "get_state", sessionId: "s" });
    expect(server.store.getCommand("queued-login")).toMatchObject({ status: "interrupted", outcome: { success: false, code: "interrupted", error: REASON_REDACTED } });
    expect(server.store.getCommand("queued-set")).toMatchObject({ status: "succeeded" });
    await server.stop();
  });
});
