/**
 * #16: src/lifecycle/settle.ts, the one rule that turns a handler's result or error into an outcome
 * and a session effect (the engine's complete()/fail() and the audit's re-execution both apply it).
 * One test per rule. test/engine/settle.test.ts pins the same rules end to end through the engine,
 * test/audit/settle-fixture.test.ts through the audit of a journal recorded earlier.
 */
import { describe, expect, it } from "vitest";
import { OutputRefused } from "../../src/lifecycle/handler-codes.js";
import { UNLIMITED_OUTPUT, type RunLeftovers } from "../../src/lifecycle/output.js";
import { failureVersion, PRECONDITION_CODES, settleError, settleResult, targetSessionVersion, type SettleSubject, type VersionOf } from "../../src/lifecycle/settle.js";
import type { SessionEffect } from "../../src/lifecycle/status.js";
import { CausewayError, OutcomeError } from "../../src/protocol/errors.js";

const versions: VersionOf = (id) => ({ s: 4, t: 7 })[id];
// a handler that replaced its state with `draft` (copy-on-write changes: test/lifecycle/state-change.test.ts)
const run = (draft?: unknown, op?: SessionEffect): RunLeftovers => ({ change: () => ({ kind: "replace", state: draft }), base: () => ({ state: undefined, bytes: Number.NaN }), sessionOp: () => op });
const sessionRead: SettleSubject = { type: "peek", scope: "session", effect: "read", sessionId: "s" };
const sessionWrite: SettleSubject = { type: "poke", scope: "session", effect: "write", sessionId: "s", errorCodes: ["quota_spent"] };
const serverTarget = (type: string, sessionId: string | null): SettleSubject => ({ type, scope: "server", effect: "write", sessionId });

describe("#16 settle: a handler's result", () => {
  it("#16 a session read answers the session's current version and has no effect", () => {
    expect(settleResult(sessionRead, run(), { n: 1 }, UNLIMITED_OUTPUT, versions)).toEqual({
      status: "succeeded",
      outcome: { command: "peek", success: true, data: { n: 1 }, sessionVersion: 4 },
      effect: undefined,
    });
  });

  it("#16 a session write answers the next version, with a write effect carrying a copy of the draft", () => {
    const draft = { n: 2 };
    const settled = settleResult(sessionWrite, run(draft), undefined, UNLIMITED_OUTPUT, versions);
    expect(settled).toEqual({
      status: "succeeded",
      outcome: { command: "poke", success: true, sessionVersion: 5 },
      effect: { kind: "write", sessionId: "s", state: { n: 2 }, version: 5 },
      next: { state: { n: 2 }, bytes: 7 },
    });
    expect((settled.effect as { state: unknown }).state).not.toBe(draft);
    // a draft left undefined is the state null
    expect(settleResult(sessionWrite, run(undefined), 1, UNLIMITED_OUTPUT, versions).effect).toEqual({ kind: "write", sessionId: "s", state: null, version: 5 });
  });

  it("#16 a server command that creates its target session answers version 0 with the create effect", () => {
    const op: SessionEffect = { kind: "create", sessionId: "new", state: { a: 1 }, version: 0 };
    expect(settleResult(serverTarget("create_session", "new"), run(undefined, op), { ok: true }, UNLIMITED_OUTPUT, versions)).toEqual({
      status: "succeeded",
      outcome: { command: "create_session", success: true, data: { ok: true }, sessionVersion: 0 },
      effect: op,
    });
  });

  it("#16 a server command that deletes its target session answers no version, with the delete effect", () => {
    const op: SessionEffect = { kind: "delete", sessionId: "s" };
    expect(settleResult(serverTarget("delete_session", "s"), run(undefined, op), undefined, UNLIMITED_OUTPUT, versions)).toEqual({
      status: "succeeded",
      outcome: { command: "delete_session", success: true },
      effect: op,
    });
  });

  it("#16 any other server command with a target answers the target's current version; without a target, none", () => {
    expect(settleResult(serverTarget("touch", "t"), run(), { seen: "t" }, UNLIMITED_OUTPUT, versions).outcome).toEqual({ command: "touch", success: true, data: { seen: "t" }, sessionVersion: 7 });
    expect(settleResult(serverTarget("touch", "gone"), run(), 1, UNLIMITED_OUTPUT, versions).outcome).toEqual({ command: "touch", success: true, data: 1 });
    expect(settleResult(serverTarget("list", null), run(), [], UNLIMITED_OUTPUT, versions)).toEqual({ status: "succeeded", outcome: { command: "list", success: true, data: [] }, effect: undefined });
  });

  it("#16 targetSessionVersion: create → 0, delete → none, other target → current, no target → none", () => {
    const create: SessionEffect = { kind: "create", sessionId: "t", state: {}, version: 0 };
    expect(targetSessionVersion("t", create, versions)).toBe(0);
    expect(targetSessionVersion("t", { kind: "delete", sessionId: "t" }, versions)).toBeUndefined();
    expect(targetSessionVersion("t", undefined, versions)).toBe(7);
    expect(targetSessionVersion("t", { kind: "write", sessionId: "t", state: {}, version: 8 }, versions)).toBe(7);
    expect(targetSessionVersion(null, create, versions)).toBeUndefined();
    expect(targetSessionVersion(null, undefined, versions)).toBeUndefined();
  });

  it("#16 an output the rule refuses fails with the refusal's code, naming the session command's version", () => {
    expect(settleResult(sessionWrite, run({ ok: 1 }), { n: Number.NaN }, UNLIMITED_OUTPUT, versions)).toMatchObject({
      status: "failed",
      outcome: { command: "poke", success: false, code: "handler_error", sessionVersion: 4 },
      effect: undefined,
    });
    const small = { maxResultBytes: 10, maxStateBytes: 10 };
    expect(settleResult(sessionWrite, run({}), "x".repeat(20), small, versions)).toMatchObject({ status: "failed", outcome: { code: "result_too_large", sessionVersion: 4 }, effect: undefined });
    expect(settleResult(sessionWrite, run({ big: "x".repeat(20) }), 1, small, versions)).toMatchObject({ status: "failed", outcome: { code: "state_too_large", sessionVersion: 4 }, effect: undefined });
    const create: SessionEffect = { kind: "create", sessionId: "n", state: { big: "x".repeat(20) }, version: 0 };
    const refused = settleResult(serverTarget("create_session", "n"), run(undefined, create), 1, small, versions);
    expect(refused).toMatchObject({ status: "failed", outcome: { code: "state_too_large" }, effect: undefined });
    expect(refused.outcome).not.toHaveProperty("sessionVersion");
  });
});

describe("#16 settle: a handler's error", () => {
  it("#16 an OutcomeError answers its whole outcome, renamed to the command, with a session command's version", () => {
    const err = new OutcomeError({ command: "inner", success: false, code: "transition_conflict", error: "moved on", data: { status: "running", revision: 2 } });
    expect(settleError(sessionWrite, err, versions)).toEqual({
      status: "failed",
      outcome: { command: "poke", success: false, code: "transition_conflict", error: "moved on", data: { status: "running", revision: 2 }, sessionVersion: 4 },
      effect: undefined,
    });
    expect(settleError(serverTarget("decide", "s"), err, versions).outcome).toEqual({ command: "decide", success: false, code: "transition_conflict", error: "moved on", data: { status: "running", revision: 2 } });
  });

  it("#16 a thrown code is kept when it is a handler code or declared, else handler_error naming it (handlerFailure)", () => {
    const code = (err: unknown): unknown => settleError(sessionWrite, err, versions).outcome;
    expect(code(new CausewayError("patch_failed", "bad op"))).toEqual({ command: "poke", success: false, code: "patch_failed", error: "bad op", sessionVersion: 4 });
    expect(code(new CausewayError("quota_spent", "no more"))).toEqual({ command: "poke", success: false, code: "quota_spent", error: "no more", sessionVersion: 4 });
    expect(code(new CausewayError("timeout", "mine"))).toEqual({
      command: "poke",
      success: false,
      code: "handler_error",
      error: 'handler failed with code "timeout", which is reserved for the engine: mine',
      sessionVersion: 4,
    });
    expect(code(new CausewayError("not_declared", "nope"))).toMatchObject({ code: "handler_error", error: 'handler failed with code "not_declared", which is not declared in the errorCodes of poke: nope' });
    expect(code(new Error("boom"))).toEqual({ command: "poke", success: false, code: "handler_error", error: "boom", sessionVersion: 4 });
    expect(code("a string")).toMatchObject({ code: "handler_error", error: "a string" });
    // a CausewayError of another copy of the package: an Error named CausewayError with a code
    expect(code(Object.assign(new Error("copy"), { name: "CausewayError", code: "session_exists" }))).toMatchObject({ code: "session_exists", error: "copy" });
    // the engine's verdict on an output keeps its code
    expect(code(new OutputRefused("state_too_large", "too big"))).toMatchObject({ code: "state_too_large" });
  });

  it("#16 a failure names a session command's current version; a server command's, or a missing session's, none", () => {
    expect(failureVersion(sessionWrite, versions)).toEqual({ sessionVersion: 4 });
    expect(failureVersion({ scope: "session", sessionId: "gone" }, versions)).toEqual({});
    expect(failureVersion({ scope: "session", sessionId: null }, versions)).toEqual({});
    expect(failureVersion({ scope: "server", sessionId: "s" }, versions)).toEqual({});
    expect(settleError(serverTarget("delete_session", "s"), new CausewayError("session_exists", "x"), versions).outcome).not.toHaveProperty("sessionVersion");
  });
});

describe("#16 settle: PRECONDITION_CODES", () => {
  it("#16 exactly the failures the engine decides without running the handler", () => {
    expect([...PRECONDITION_CODES].sort()).toEqual(
      ["journal_unavailable", "interrupted", "timeout", "dependency_unknown", "dependency_failed", "dependency_timeout", "version_conflict", "session_not_found", "rejected", "cancelled", "expired", "superseded"].sort(),
    );
    for (const notOne of ["handler_error", "patch_failed", "session_exists", "state_too_large", "result_too_large", "busy"]) expect(PRECONDITION_CODES.has(notOne)).toBe(false);
  });
});
