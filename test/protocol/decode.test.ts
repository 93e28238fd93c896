import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BUILTIN_COMMANDS } from "../../src/commands/builtin/index.js";
import { registerOperatorCommands } from "../../src/operator/register.js";
import { CommandRegistry } from "../../src/commands/registry.js";
import { DEFAULT_LIMITS } from "../../src/config/defaults.js";
import { decodeFrame, invalidUtf8 } from "../../src/protocol/decode.js";
import crypto from "node:crypto";
import { fingerprint, sha256HexWith } from "../../src/protocol/fingerprint.js";
import { exceedsJsonDepth } from "../../src/protocol/json-depth.js";
import { SchemaSet } from "../../src/protocol/schemas.js";

const seed = Number(process.env.FC_SEED ?? Date.now());
console.log(`fast-check seed ${seed} (replay: FC_SEED=${seed})`);

const registry = new CommandRegistry();
for (const d of BUILTIN_COMMANDS) registry.register(d);
registerOperatorCommands(registry);
const schemas = new SchemaSet(registry, DEFAULT_LIMITS);
const decode = (s: string) => decodeFrame(s, DEFAULT_LIMITS, registry, schemas);

function depth(v: unknown): number {
  if (Array.isArray(v)) return 1 + Math.max(0, ...v.map(depth));
  if (v !== null && typeof v === "object") return 1 + Math.max(0, ...Object.values(v).map(depth));
  return 0;
}

describe("json depth guard", () => {
  it("agrees with the parsed depth for any JSON value (strings with brackets included)", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 10 }), (v, limit) => {
        const text = JSON.stringify(v);
        expect(exceedsJsonDepth(text, limit)).toBe(depth(v) > limit);
      }),
      { seed, numRuns: 500 },
    );
  });
});

describe("fingerprint", () => {
  it("ignores key order, id, idempotencyKey and timeoutMs, and sees every semantic field", () => {
    const a = fingerprint({ type: "set", sessionId: "s", path: "/a", value: { x: 1, y: 2 } });
    expect(fingerprint({ value: { y: 2, x: 1 }, path: "/a", sessionId: "s", type: "set", id: "z", idempotencyKey: "k", timeoutMs: 5 })).toBe(a);
    expect(fingerprint({ type: "set", sessionId: "s", path: "/a", value: { x: 1, y: 3 } })).not.toBe(a);
    expect(fingerprint({ type: "set", sessionId: "t", path: "/a", value: { x: 1, y: 2 } })).not.toBe(a);
    expect(a).toMatch(/^v1:sha256:[0-9a-f]{64}$/);
  });

  // Fingerprints are stored in journals and compared on replay: the string is pinned byte for byte
  // (values computed by the streaming createHash implementation before #17.1).
  it("#17.1 one-shot hashing keeps every fingerprint byte-identical (pinned values)", () => {
    expect(fingerprint({ type: "set", sessionId: "s", path: "/a", value: { x: 1, y: 2 } })).toBe("v1:sha256:e1a155104a1efcb1667172f6edd35994c0d6ebd4b63579ba45d4c435dee6aeb2");
    const unicode = { type: "set", sessionId: "sé🙂", path: "/ключ", value: { "\u00e9": [1.5, null, true, "日本"], b: 1e21 }, dependsOn: ["a"] };
    expect(fingerprint(unicode)).toBe("v1:sha256:8b3eaf8b4d2659a2651927952afaa2460695876dc918993a7f2c7bd5140b7795");
    expect(fingerprint({ type: "get_state" })).toBe("v1:sha256:39567f1db1c0e46e759498f9702b70a073511a6566edc03995471144d5a41458");
  });

  it("#17.1 the createHash fallback (runtimes without crypto.hash) gives the one-shot digest", () => {
    const fallback = sha256HexWith(undefined);
    const oneShot = sha256HexWith((crypto as { hash?: (a: string, d: string, e: "hex") => string }).hash);
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        expect(fallback(s)).toBe(oneShot(s));
        expect(fallback(s)).toBe(crypto.createHash("sha256").update(s).digest("hex"));
      }),
      { seed, numRuns: 300 },
    );
    expect(fallback('{"type":"get_state"}')).toBe("39567f1db1c0e46e759498f9702b70a073511a6566edc03995471144d5a41458");
  });
});

describe("decodeFrame", () => {
  it("never throws, and every rejection has a stable code and a message", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.jsonValue().map((v) => JSON.stringify(v)), fc.record({ type: fc.constantFrom("set", "get_state", "patch", "create_session", "x"), id: fc.anything() }).map((v) => JSON.stringify(v) ?? "null")), (s) => {
        const d = decode(s);
        if (!d.ok) {
          expect(["invalid_command", "unknown_command", "payload_too_large"]).toContain(d.code);
          expect(d.error.length).toBeGreaterThan(3);
        }
      }),
      { seed, numRuns: 1000 },
    );
  });

  it("requires sessionId on session commands and refuses dependsOn without id", () => {
    expect(decode('{"type":"get_state"}')).toMatchObject({ ok: false, code: "invalid_command" });
    expect(decode('{"type":"get_state","sessionId":"s","dependsOn":["a"]}')).toMatchObject({ ok: false, error: "Validation failed: id: Required when dependsOn is provided" });
    expect(decode('{"type":"get_state","sessionId":"s","id":"x","dependsOn":["a"]}')).toMatchObject({ ok: true });
  });

  it("#15.9 a number that overflows to ±Infinity anywhere is invalid_command with the request's id and type", () => {
    const frames: Array<[string, string, string]> = [
      ['{"type":"set","id":"a","sessionId":"s","path":"/a","value":1e400}', "a", "set"],
      ['{"type":"set","id":"b","sessionId":"s","path":"/a","value":{"x":[1,-1e400]}}', "b", "set"],
      ['{"type":"get_state","id":"c","sessionId":"s","timeoutMs":1E999}', "c", "get_state"],
      ['{"type":"no_such_type","id":"d","n":1e400}', "d", "no_such_type"],
      ['{"id":"e","n":1e400}', "e", "unknown"],
      [`{"type":"set","id":"f","sessionId":"s","path":"/a","value":${"9".repeat(400)}}`, "f", "set"],
    ];
    for (const [frame, id, command] of frames) {
      const d = decode(frame);
      expect(d, frame).toMatchObject({ ok: false, id, command, code: "invalid_command" });
      expect(d.ok ? "" : d.error).toMatch(/number out of range/);
    }
    // large but finite numbers and underflow to 0 are fine
    expect(decode('{"type":"set","id":"g","sessionId":"s","path":"/a","value":[1e308,1e-400]}')).toMatchObject({ ok: true });
  });

  it("#15.10 a lone surrogate in any string or property name is invalid_command; the id is echoed only when well-formed", () => {
    const cases: Array<[string, string | undefined, string]> = [
      ['{"type":"create_session","id":"a\\ud800","sessionId":"x"}', undefined, "create_session"],
      ['{"type":"create_session","id":"b","sessionId":"x\\udc00"}', "b", "create_session"],
      ['{"type":"create_session","id":"c","sessionId":"x","idempotencyKey":"k\\ud83d"}', "c", "create_session"],
      ['{"type":"set","id":"d","sessionId":"s","path":"/a","value":{"k":["v\\udfff"]}}', "d", "set"],
      ['{"type":"set","id":"e","sessionId":"s","path":"/a","value":{"\\ud800k":1}}', "e", "set"],
      ['{"type":"get_state","id":"f","sessionId":"s","dependsOn":["\\ud800"]}', "f", "get_state"],
      ['{"type":"x\\ud800","id":"g"}', "g", "unknown"],
    ];
    for (const [frame, id, command] of cases) {
      const d = decode(frame);
      expect(d, frame).toMatchObject({ ok: false, command, code: "invalid_command" });
      expect(d.ok ? "none" : d.id, frame).toBe(id);
      expect(d.ok ? "" : d.error).toMatch(/not well-formed Unicode/);
    }
    // a surrogate pair (escaped or literal) is a well-formed character
    expect(decode('{"type":"set","id":"h","sessionId":"s","path":"/a","value":"\\ud83d\\ude00 😀"}')).toMatchObject({ ok: true });
  });

  it("#15.10 property: a frame is refused exactly when a parsed number is infinite or a string is not well-formed", () => {
    const bad = (v: unknown): boolean =>
      typeof v === "number" ? !Number.isFinite(v) : typeof v === "string" ? !v.isWellFormed() : v !== null && typeof v === "object" ? Object.entries(v).some(([k, x]) => !k.isWellFormed() || bad(x)) : false;
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.constantFrom("\\ud800", "\\udfff", "\\ud83d\\ude00", "1e400", "-1e999", "1e300", "ok"), (v, poison) => {
        const inner = poison.startsWith("\\") ? `"${poison}"` : poison === "ok" ? '"ok"' : poison;
        const frame = `{"type":"set","id":"p","sessionId":"s","path":"/a","value":[${JSON.stringify(v)},${inner}]}`;
        const parsed = (JSON.parse(frame) as { value: unknown }).value;
        const d = decode(frame);
        if (bad(parsed)) expect(d).toMatchObject({ ok: false, id: "p", command: "set", code: "invalid_command" });
        else expect(d.ok).toBe(true);
      }),
      { seed, numRuns: 300 },
    );
  });

  it("#15.11 a frame that is not valid UTF-8 is invalid_command; its id and type are echoed only when no replacement touched them", () => {
    const u = (s: string): ReturnType<typeof invalidUtf8> => invalidUtf8(s, DEFAULT_LIMITS);
    expect(u('{"type":"set","id":"a","value":"\ufffd"}')).toEqual({ ok: false, id: "a", command: "set", code: "invalid_command", error: "frame is not valid UTF-8" });
    expect(u('{"type":"set","id":"a\ufffd","value":1}')).toMatchObject({ ok: false, id: undefined, command: "set", code: "invalid_command" });
    expect(u('{"type":"se\ufffdt","id":"b"}')).toMatchObject({ ok: false, id: "b", command: "unknown", code: "invalid_command" });
    expect(u("{\ufffd\ufffd")).toMatchObject({ ok: false, command: "unknown", code: "invalid_command" });
    expect(u("{\ufffd\ufffd")).not.toHaveProperty("id");
    const long = u(`{"id":"${"x".repeat(300)}","v":"\ufffd"}`);
    expect(long).toMatchObject({ ok: false, code: "invalid_command" });
    // a well-formed string id is echoed whatever its length (no invalid byte touched it)
    expect(long.ok ? "" : long.id).toBe("x".repeat(300));
  });
});
