/** The strict JSON-value rule (#15.12): src/protocol/json-value.ts. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { describeViolation, findNonJson } from "../../src/protocol/json-value.js";

const seed = Number(process.env.FC_SEED ?? Date.now());
console.log(`fast-check seed ${seed} (replay: FC_SEED=${seed})`);

/** Every (container, key, JSON Pointer) position inside a JSON value. */
function positions(v: unknown, path = ""): Array<{ holder: Record<string, unknown> | unknown[]; key: string; path: string }> {
  if (v === null || typeof v !== "object") return [];
  const out: Array<{ holder: Record<string, unknown> | unknown[]; key: string; path: string }> = [];
  for (const key of Object.keys(v)) {
    const p = `${path}/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`;
    out.push({ holder: v as Record<string, unknown>, key, path: p });
    out.push(...positions((v as Record<string, unknown>)[key], p));
  }
  return out;
}

describe("findNonJson", () => {
  it("#15.12 accepts every JSON value, and names the JSON Pointer of a bad value put anywhere in one", () => {
    const bad = fc.constantFrom<[() => unknown, string]>(
      [() => Number.NaN, "NaN"],
      [() => Number.NEGATIVE_INFINITY, "-Infinity"],
      [() => new Map(), "a Map"],
      [() => 1n, "a BigInt"],
      [() => () => 0, "a function"],
      [() => new Date(0), "a Date"],
    );
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), bad, fc.nat(), (raw, [make, what], pick) => {
        const v = JSON.parse(JSON.stringify(raw)) as unknown; // plain objects, as a handler would build
        expect(findNonJson(v)).toBeNull();
        const spots = positions(v);
        if (spots.length === 0) return;
        const spot = spots[pick % spots.length]!;
        (spot.holder as Record<string, unknown>)[spot.key] = make();
        const found = findNonJson(v);
        expect(found?.path).toBe(spot.path);
        expect(found?.what.startsWith(what)).toBe(true);
      }),
      { seed, numRuns: 300 },
    );
  });

  it("#15.12 names cycles, holes, class instances; allows shared references and undefined properties", () => {
    const a: Record<string, unknown> = { x: 1 };
    a.me = { back: a };
    expect(findNonJson({ a })).toEqual({ path: "/a/me/back", what: "a cycle back to /a" });
    const shared = { s: 1 };
    expect(findNonJson({ p: shared, q: [shared, shared] })).toBeNull();
    expect(findNonJson({ gone: undefined, kept: [1] })).toBeNull();
    // eslint-disable-next-line no-sparse-arrays
    expect(findNonJson([1, , 3])?.path).toBe("/1");
    class Money {
      cents = 1;
    }
    expect(findNonJson({ m: new Money() })?.what).toMatch(/instance of Money/);
    expect(findNonJson(Object.create(null) as object)).toBeNull();
    expect(describeViolation(findNonJson(Symbol("s"))!)).toBe("a symbol (the value itself)");
    expect(findNonJson(undefined)?.what).toBe("undefined");
  });

  it("#15.12 a structure too deep to serialize is reported, not thrown", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(findNonJson(deep)?.what).toBe("nested too deeply to serialize");
  });
});
