import { describe, expect, it } from "vitest";
import { AllowOriginError, normalizeOrigin, originPolicy, parseAllowedOrigins } from "../../src/transport/origin.js";

describe("origin policy (#15.1)", () => {
  it("normalizes origins: lower case, default port dropped, trailing slash allowed; anything with a path, query or credentials is not an origin", () => {
    expect(normalizeOrigin("HTTPS://App.Example:443/")).toBe("https://app.example");
    expect(normalizeOrigin("http://localhost:3141")).toBe("http://localhost:3141");
    expect(normalizeOrigin("http://[::1]:80")).toBe("http://[::1]");
    expect(normalizeOrigin("chrome-extension://abcdef")).toBe("chrome-extension://abcdef");
    expect(normalizeOrigin("null")).toBe("null");
    for (const bad of ["", "evil", "https://a.example/path", "https://a.example?x", "https://u:p@a.example", "mailto:x@y", "https://a.example#f"]) {
      expect(normalizeOrigin(bad), bad).toBeNull();
    }
  });

  it("parses the configured list and names a bad entry", () => {
    expect(parseAllowedOrigins(["https://a.example/", " * ", "null"])).toEqual(["https://a.example", "*", "null"]);
    expect(() => parseAllowedOrigins(["https://a.example/app"])).toThrow(AllowOriginError);
    expect(() => parseAllowedOrigins(["https://a.example/app"])).toThrow(/--allow-origin: "https:\/\/a.example\/app" is not an origin/);
  });

  it("allows no Origin, the loopback origins of its own port and the configured ones; refuses the rest", () => {
    const p = originPolicy(parseAllowedOrigins(["https://app.example"]), 4000);
    for (const ok of [undefined, "http://127.0.0.1:4000", "http://localhost:4000", "http://[::1]:4000", "https://app.example", "https://APP.example:443"]) {
      expect(p.allows(ok), String(ok)).toBe(true);
    }
    for (const no of ["https://evil.example", "http://127.0.0.1:4001", "https://127.0.0.1:4000", "http://localhost", "null", "", "garbage"]) {
      expect(p.allows(no), no).toBe(false);
    }
    expect(originPolicy(["*"], 4000).allows("https://evil.example")).toBe(true);
    expect(originPolicy(["null"], 4000).allows("null")).toBe(true);
  });
});
