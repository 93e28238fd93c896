import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BUILTIN_COMMANDS } from "../../src/commands/builtin/index.js";
import { registerImmediateCommands } from "../../src/commands/immediate.js";
import { CommandRegistry } from "../../src/commands/registry.js";
import { DEFAULT_LIMITS } from "../../src/config/defaults.js";
import { decodeFrame } from "../../src/protocol/decode.js";
import { fingerprint } from "../../src/protocol/fingerprint.js";
import { exceedsJsonDepth } from "../../src/protocol/json-depth.js";
import { SchemaSet } from "../../src/protocol/schemas.js";

const seed = Number(process.env.FC_SEED ?? Date.now());
console.log(`fast-check seed ${seed} (replay: FC_SEED=${seed})`);

const registry = new CommandRegistry();
for (const d of BUILTIN_COMMANDS) registry.register(d);
registerImmediateCommands(registry);
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
});
