/**
 * #17 writes cost what they change (src/lifecycle/state-change.ts, output.ts): a handler's draft is
 * copy-on-write, its change becomes RFC 6902 operations, and the operations applied to the stored
 * state give exactly the state the handler left, with its JSON size computed from the change. The
 * properties compare against JSON.stringify of the state the handler built (the old rule's copy).
 * Replay a failure with FC_SEED=<seed>.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createContext } from "../../src/commands/handler-context.js";
import { OutputRefused } from "../../src/lifecycle/handler-codes.js";
import { takeOutput } from "../../src/lifecycle/output.js";
import { applyOps, diffStates, jsonBytes } from "../../src/lifecycle/state-change.js";

const seed = Number(process.env.FC_SEED ?? Date.now());
console.log(`fast-check seed ${seed} (replay: FC_SEED=${seed})`);

/** Strings with multi-byte UTF-8, astral characters, lone surrogates and JSON escapes. */
const text = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.string({ unit: "binary", maxLength: 4 }),
  fc.constantFrom("é", "€", "😀", "\ud800", "\udfff", '"', "\\", "\n", "~1/", "0", "10", "__x"),
);
const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small", withCrossShrink: true }, fc.constant(null), fc.boolean(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), text, tie("array"), tie("object")),
  array: fc.array(tie("value"), { maxLength: 4 }),
  object: fc.dictionary(text, tie("value"), { maxKeys: 4 }),
})).value.map((v) => JSON.parse(JSON.stringify(v)) as unknown);

/** One in-place mutation of a draft: where (a walk of indexes into containers) and what. */
const mutation = fc.record({
  walk: fc.array(fc.nat(), { maxLength: 4 }),
  kind: fc.constantFrom("set", "setNew", "delete", "push", "pop", "unshift", "splice", "readd", "replaceChild", "undefinedProp"),
  key: text,
  value: json,
  n: fc.nat(),
});
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

type Box = Record<string, unknown> | unknown[];
const isBox = (v: unknown): v is Box => typeof v === "object" && v !== null;

/** Apply a mutation to the draft the way a handler would (push, delete, assign, splice …). */
function mutate(root: Box, mut: Mutation): void {
  // the handler's own new value (a fresh copy per run: later mutations may walk into it)
  const m = { ...mut, value: structuredClone(mut.value) };
  let node: Box = root;
  for (const step of m.walk) {
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    const child = (node as Record<string, unknown>)[keys[step % keys.length]!];
    if (!isBox(child)) break;
    node = child;
  }
  const keys = Object.keys(node);
  const some = keys.length > 0 ? keys[m.n % keys.length]! : m.key;
  if (Array.isArray(node)) {
    if (m.kind === "push" || m.kind === "setNew") node.push(m.value);
    else if (m.kind === "pop") node.pop();
    else if (m.kind === "unshift") node.unshift(m.value);
    else if (m.kind === "splice" || m.kind === "delete") node.splice(m.n % (node.length + 1), 1, ...(m.n % 2 ? [m.value] : []));
    else if (node.length > 0) node[m.n % node.length] = m.value;
    return;
  }
  if (m.kind === "delete" || m.kind === "pop") delete node[some];
  else if (m.kind === "readd") {
    const v = node[some];
    delete node[some];
    node[some] = v === undefined ? m.value : v;
  } else if (m.kind === "setNew" || m.kind === "push" || m.kind === "unshift") node[m.key] = m.value;
  else if (m.kind === "undefinedProp") node[some] = undefined;
  else node[some] = m.value;
}

/** Run a handler that mutates its draft in place; returns the context's run and what it built (as JSON text). */
function handlerRun(base: unknown, muts: Mutation[], bytes = jsonBytes(base)) {
  const run = createContext({
    commandId: "c",
    type: "t",
    scope: "session",
    sessionId: "s",
    actor: "a",
    acceptedAt: 0,
    state: base,
    stateBytes: bytes,
    sessionVersion: 1,
    sessions: { exists: () => true, list: () => [], count: () => 1, atLimit: () => false },
    maxSessions: 10,
    signal: () => new AbortController().signal,
    log: () => {
      throw new Error("no log");
    },
    now: () => 0,
    random: () => 0,
    emit: () => {},
  });
  for (const m of muts) if (isBox(run.ctx.state)) mutate(run.ctx.state as Box, m);
  const built = JSON.stringify(run.ctx.state);
  return { run, built };
}

const WRITE = { scope: "session", effect: "write" } as const;

describe("#17 state changes", () => {
  it("#17 the operations of a mutated draft, applied to the stored state, give exactly the state the handler left, with its exact JSON size", () => {
    fc.assert(
      fc.property(fc.oneof(fc.dictionary(text, json, { maxKeys: 5 }), fc.array(json, { maxLength: 5 })), fc.array(mutation, { maxLength: 6 }), (base, muts) => {
        const before = JSON.stringify(base);
        const { run, built } = handlerRun(base, muts);
        const change = run.change();
        expect(change.kind).toBe("ops");
        const ops = (change as { ops: Parameters<typeof applyOps>[1] }).ops.map((op) => (op.op === "remove" ? op : { ...op, value: JSON.parse(JSON.stringify(op.value)) as unknown }));
        const applied = applyOps(base, ops, jsonBytes(base));
        expect(JSON.stringify(applied.state)).toBe(built);
        expect(applied.bytes).toBe(Buffer.byteLength(built, "utf8"));
        // the stored state is shared, never changed
        expect(JSON.stringify(base)).toBe(before);
        // the operations are the change, not the document: an untouched state has none
        if (built === before && muts.length === 0) expect(ops).toEqual([]);
      }),
      { seed, numRuns: 400 },
    );
  });

  it("#17 maxStateBytes is exact at the boundary: UTF-8 bytes of JSON.stringify(state), computed from the change", () => {
    fc.assert(
      fc.property(fc.dictionary(text, json, { maxKeys: 5 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), (base, muts) => {
        const { built } = handlerRun(base, muts);
        const exact = Buffer.byteLength(built, "utf8");
        const fits = takeOutput(WRITE, handlerRun(base, muts).run, undefined, { maxResultBytes: Infinity, maxStateBytes: exact });
        expect(fits.write!.bytes).toBe(exact);
        expect(JSON.stringify(fits.write!.state)).toBe(built);
        let refused: unknown;
        try {
          takeOutput(WRITE, handlerRun(base, muts).run, undefined, { maxResultBytes: Infinity, maxStateBytes: exact - 1 });
        } catch (err) {
          refused = err;
        }
        expect(refused).toBeInstanceOf(OutputRefused);
        expect((refused as OutputRefused).code).toBe("state_too_large");
        expect((refused as Error).message).toBe(`the session state the handler left is ${exact} bytes as JSON, above the ${exact - 1}-byte limit (maxStateBytes)`);
      }),
      { seed, numRuns: 300 },
    );
  });

  it("#17 a one-key change of a large document is one small operation, and the new state shares everything else", () => {
    const base = Object.freeze({ big: Object.freeze(Array.from({ length: 2_000 }, (_, i) => Object.freeze({ i, name: `item-${i}` }))), n: 1 });
    const { run } = handlerRun(base, [], jsonBytes(base));
    (run.ctx.state as { n: number }).n = 2;
    const out = takeOutput(WRITE, run, undefined, { maxResultBytes: Infinity, maxStateBytes: Infinity });
    expect(out.write!.ops).toEqual([{ op: "replace", path: "/n", value: 2 }]);
    expect((out.write!.state as typeof base).big).toBe(base.big);
    expect(Object.isFrozen(out.write!.state)).toBe(true);
    expect(out.write!.bytes).toBe(jsonBytes({ ...base, n: 2 }));
  });

  it("#17 a value that is not JSON is refused with the path of the whole state, as before", () => {
    const { run } = handlerRun({ a: { b: 1 } }, []);
    ((run.ctx.state as { a: Record<string, unknown> }).a).c = [1, Number.NaN];
    expect(() => takeOutput(WRITE, run, undefined, { maxResultBytes: Infinity, maxStateBytes: Infinity })).toThrow("the session state the handler left is not JSON: NaN at /a/c/1");
  });

  it("#17 a key deleted and set again keeps the handler's key order (JSON.stringify's)", () => {
    const base = { a: 1, b: 2, c: 3 };
    const ops = diffStates(base, { b: 2, c: 3, a: 9 });
    expect(JSON.stringify(applyOps(base, ops).state)).toBe('{"b":2,"c":3,"a":9}');
  });
});
