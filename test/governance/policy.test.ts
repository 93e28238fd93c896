/** The policy file: validation messages and the documented evaluation order. */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Policy, PolicyError } from "../../src/governance/policy.js";
import { ROOT } from "../helpers/spawn.js";

const subject = (over: Partial<{ type: string; sessionId: string | null; tags: string[]; roles: string[] }> = {}) => ({ type: "set", sessionId: "s1", tags: [], roles: [], ...over });

describe("policy file validation", () => {
  it("names the file, the JSON path and the problem", () => {
    const bad = (json: unknown): string => {
      try {
        Policy.parse(JSON.stringify(json), "p.json");
      } catch (err) {
        expect(err).toBeInstanceOf(PolicyError);
        return (err as Error).message;
      }
      throw new Error("accepted");
    };
    expect(bad({ version: 1, rules: [{ effect: "maybe" }] })).toMatch(/^policy file p\.json: \/rules\/0\/effect: must be one of "allow", "deny", "require_approval"/);
    expect(bad({ version: 1, rules: [{ effect: "deny" }] })).toMatch(/\/rules\/0: must have required property 'reason'/);
    expect(bad({ version: 1, rules: [{ effect: "require_approval", approvals: 0 }] })).toMatch(/\/rules\/0\/approvals: must be >= 1/);
    expect(bad({ version: 1, rules: [{ effect: "allow", colour: "red" }] })).toMatch(/\/rules\/0: unknown field "colour"/);
    expect(bad({ version: 2 })).toMatch(/\/version: must be equal to constant/);
    expect(bad({ version: 1, rules: [{ effect: "require_approval", approvals: 1, steps: [{ approvals: 1, approverRoles: ["a"] }] }] })).toMatch(/either "steps" or "approvals"/);
    expect(() => Policy.parse("{", "broken.json")).toThrow(/policy file broken\.json: not valid JSON/);
    expect(() => Policy.load(join(ROOT, "no-such-policy.json"))).toThrow(/cannot read it/);
  });

  it("#15.2 unknownTypes names every roles key and match.type entry that is not a known type, with its JSON Pointer", () => {
    const p = Policy.parse(
      JSON.stringify({
        version: 1,
        roles: { set: ["a"], delete_sesion: ["admin"], "odd/type~x": ["a"] },
        rules: [{ match: { type: "patch" }, effect: "allow" }, { match: { type: ["get_state", "sett"] }, effect: "deny", reason: "r" }, { effect: "allow" }, { match: { type: "nope" }, effect: "allow" }],
      }),
      "p.json",
    );
    expect(p.unknownTypes(new Set(["set", "patch", "get_state", "delete_session"]))).toEqual([
      { path: "/roles/delete_sesion", type: "delete_sesion" },
      { path: "/roles/odd~1type~0x", type: "odd/type~x" },
      { path: "/rules/1/match/type/1", type: "sett" },
      { path: "/rules/3/match/type", type: "nope" },
    ]);
    expect(Policy.open().unknownTypes(new Set())).toEqual([]);
  });

  it("the example policy under fixtures/ is valid, and its version is the hash of its canonical JSON", () => {
    const path = join(ROOT, "fixtures/governance/policy.example.json");
    const p = Policy.load(path);
    expect(p.version).toMatch(/^sha256:[0-9a-f]{64}$/);
    // key order and whitespace do not change the version
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(readFileSync(path, "utf8")) as object).reverse()));
    expect(Policy.parse(reordered, "x").version).toBe(p.version);
  });
});

describe("policy evaluation", () => {
  const p = Policy.parse(
    JSON.stringify({
      version: 1,
      roles: { delete_session: ["admin"] },
      defaults: { expiresInMs: 1000 },
      rules: [
        { name: "risky", match: { tags: ["risk:high"] }, effect: "require_approval", approvals: 2, approverRoles: ["approver"], onStale: "renew", expiresInMs: 5000 },
        { name: "prod", match: { sessionId: "prod-*" }, effect: "require_approval", approvals: 1, approverRoles: ["lead"], onStale: "revalidate", allowRequester: true },
        { name: "no bots in prod", match: { sessionId: "prod-*", actorRoles: ["bot"] }, effect: "deny", reason: "bots may not touch prod" },
        { name: "frozen", match: { type: ["set", "patch"], sessionId: "frozen-?" }, effect: "deny", reason: "frozen" },
      ],
    }),
    "inline",
  );

  it("the role gate comes first", () => {
    expect(p.evaluate(subject({ type: "delete_session", roles: ["approver"] }))).toMatchObject({ effect: "deny", rule: "roles.delete_session" });
    expect(p.evaluate(subject({ type: "delete_session", roles: ["admin"] }))).toEqual({ effect: "allow" });
  });

  it("deny wins over require_approval; globs and role matches", () => {
    expect(p.evaluate(subject({ sessionId: "prod-1", roles: ["bot"], tags: ["risk:high"] }))).toMatchObject({ effect: "deny", reason: "bots may not touch prod" });
    expect(p.evaluate(subject({ sessionId: "frozen-a" }))).toMatchObject({ effect: "deny", rule: "frozen" });
    expect(p.evaluate(subject({ sessionId: "frozen-ab" }))).toEqual({ effect: "allow" });
    expect(p.evaluate(subject({ type: "get_state", sessionId: "frozen-a" }))).toEqual({ effect: "allow" });
  });

  it("matching require_approval rules merge: steps in file order, strictest onStale, smallest expiry, allowRequester only if all allow", () => {
    const v = p.evaluate(subject({ sessionId: "prod-1", tags: ["risk:high"] }));
    expect(v).toEqual({
      effect: "require_approval",
      requirements: {
        rules: ["risky", "prod"],
        steps: [
          { name: "risky", approvals: 2, approverRoles: ["approver"] },
          { name: "prod", approvals: 1, approverRoles: ["lead"] },
        ],
        allowRequester: false,
        expiresInMs: 1000,
        onStale: "revalidate",
      },
    });
    expect(p.evaluate(subject({ sessionId: "prod-2" }))).toMatchObject({ requirements: { allowRequester: true, onStale: "revalidate", expiresInMs: 1000 } });
    expect(p.evaluate(subject({ tags: ["risk:high"] }))).toMatchObject({ requirements: { onStale: "renew", expiresInMs: 5000 } });
  });

  it("the open policy allows everything", () => {
    expect(Policy.open().evaluate(subject({ type: "delete_session" }))).toEqual({ effect: "allow" });
  });
});
