/**
 * #17 the JSON value check (src/protocol/json-values.ts) walks a clean frame without building a
 * JSON Pointer per key, and describes only a refused one: the fast walk must agree with the
 * describing walk on every value, clean or not (property, printed seed).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { badJsonValue, describeBad } from "../../src/protocol/json-values.js";

const seed = Number(process.env.FC_SEED ?? Date.now());
console.log(`fast-check seed ${seed} (replay: FC_SEED=${seed})`);

/** strings that are sometimes lone surrogates; numbers that are sometimes ±Infinity */
const text = fc.oneof(fc.string(), fc.constantFrom("\ud800", "a\udc00b", "~/x", "ok"));
const num = fc.oneof(fc.double({ noNaN: true }), fc.constantFrom(Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1));
const { value } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small" }, num, text, fc.boolean(), fc.constant(null), fc.array(tie("value"), { maxLength: 4 }), fc.dictionary(text, tie("value"), { maxKeys: 4 })),
}));

describe("#17 JSON value check", () => {
  it("#17 the walk without pointers agrees with the describing walk on every value (null exactly when clean, else the same message)", () => {
    fc.assert(
      fc.property(value, fc.constantFrom("", "/params"), (v, path) => {
        expect(badJsonValue(v, path)).toBe(describeBad(v, path));
      }),
      { seed, numRuns: 2000 },
    );
  });

  it("#17 a refused value is still named by its place", () => {
    expect(badJsonValue({ a: [1, { "b/c": Number.POSITIVE_INFINITY }] })).toBe('number out of range at "/a/1/b~1c" (it overflows to Infinity)');
    expect(badJsonValue({ ok: "x", ["k\ud800"]: 1 })).toBe("property name under the top level is not well-formed Unicode (lone surrogate)");
    expect(badJsonValue({ deep: { list: ["fine", "\udc00"] } })).toBe('string at "/deep/list/1" is not well-formed Unicode (lone surrogate)');
    expect(badJsonValue({ a: 1, b: ["x", { c: null }] })).toBeNull();
  });
});
