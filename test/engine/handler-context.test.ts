/**
 * #17 the handler context is one class instance per command (src/commands/handler-context.ts):
 * the draft is made on the first read of ctx.state, ctx.sessions on first use, and the functions a
 * handler may pass on (now, random, emit, replaceState) keep working unbound.
 */
import { isDraft } from "immer";
import { describe, expect, it } from "vitest";
import { createContext, type ContextInput } from "../../src/commands/handler-context.js";

function input(over: Partial<ContextInput> = {}): ContextInput & { emitted: unknown[] } {
  const emitted: unknown[] = [];
  let t = 100;
  return {
    commandId: "c",
    type: "t",
    scope: "session",
    sessionId: "s",
    actor: "a",
    acceptedAt: 0,
    state: { a: 1, nested: { b: 2 } },
    stateBytes: 22,
    sessionVersion: 3,
    sessions: { exists: () => false, list: () => [], count: () => 0, atLimit: () => false },
    maxSessions: 10,
    signal: () => new AbortController().signal,
    log: () => {
      throw new Error("no log");
    },
    now: () => ++t,
    random: () => 0.25,
    emit: (_s, e) => emitted.push(e),
    emitted,
    ...over,
  };
}

describe("#17 handler context", () => {
  it("#17 a handler that never reads ctx.state makes no change; one that reads it gets a draft of the stored state", () => {
    const untouched = createContext(input());
    expect(untouched.change()).toEqual({ kind: "ops", ops: [] });
    const i = input();
    const run = createContext(i);
    const draft = run.ctx.state as { a: number; nested: { b: number } };
    expect(isDraft(draft)).toBe(true);
    expect(run.ctx.state).toBe(draft); // the same draft on every read
    draft.nested.b = 5;
    expect(run.change()).toEqual({ kind: "ops", ops: [{ op: "replace", path: "/nested/b", value: 5 }] });
    expect(i.state).toEqual({ a: 1, nested: { b: 2 } }); // the stored state is never written
  });

  it("#17 assigning ctx.state (before or after reading it) or replaceState replaces the document", () => {
    const before = createContext(input());
    before.ctx.state = { fresh: true };
    expect(before.change()).toEqual({ kind: "replace", state: { fresh: true } });
    const after = createContext(input());
    (after.ctx.state as { a: number }).a = 9;
    after.ctx.replaceState([1, 2]);
    expect(after.change()).toEqual({ kind: "replace", state: [1, 2] });
    const same = createContext(input());
    same.ctx.state = same.ctx.state; // the draft itself: still a change by operations
    expect(same.change()).toEqual({ kind: "ops", ops: [] });
  });

  it("#17 now, random, emit and replaceState work when a handler passes them on unbound", () => {
    const i = input();
    const run = createContext(i);
    const { now, random, emit, replaceState } = run.ctx;
    expect([now(), now(), random()]).toEqual([101, 102, 0.25]);
    emit({ hello: 1 });
    expect(i.emitted).toEqual([{ hello: 1 }]);
    replaceState("text");
    expect(run.change()).toEqual({ kind: "replace", state: "text" });
  });

  it("#17 ctx.sessions stages at most one create in a server-scope command; a session-scope one cannot use it", () => {
    const server = createContext(input({ scope: "server", sessionId: null, state: undefined }));
    expect(server.ctx.sessions.create("n1", { x: 1 })).toEqual({ sessionId: "n1", sessionVersion: 0, createdAt: 0 });
    expect(() => server.ctx.sessions.create("n2", {})).toThrow(/at most one session/);
    expect(server.sessionOp()).toMatchObject({ kind: "create", sessionId: "n1", state: { x: 1 } });
    const session = createContext(input());
    expect(() => session.ctx.sessions.create("n3", {})).toThrow(/only available to server-scope/);
  });
});
