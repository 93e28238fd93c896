/** PROTOCOL.md is normative: it must name every error code, limit and command the code has. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BUILTIN_COMMANDS } from "../../src/commands/builtin/index.js";
import { registerImmediateCommands } from "../../src/commands/immediate.js";
import { CommandRegistry } from "../../src/commands/registry.js";
import { DEFAULT_CONFIG, DEFAULT_LIMITS } from "../../src/config/defaults.js";
import { ERROR_CODES, HANDLER_ERROR_CODES } from "../../src/protocol/errors.js";

const root = join(import.meta.dirname, "../..");
const protocol = readFileSync(join(root, "PROTOCOL.md"), "utf8");

describe("PROTOCOL.md", () => {
  it("lists every error code in the error table", () => {
    for (const code of ERROR_CODES) expect(protocol, code).toMatch(new RegExp("^\\| `" + code + "` \\|", "m"));
    const documented = [...protocol.matchAll(/^\| `([a-z_]+)` \| (?:when|[a-z])/gm)].map((m) => m[1]);
    expect(documented.length).toBeGreaterThan(0);
  });

  it("#15.12 lists exactly the handler-usable error codes", () => {
    const line = /^Handler-usable codes: (.*)\.$/m.exec(protocol);
    expect(line, "a 'Handler-usable codes: …' line").not.toBeNull();
    const listed = [...line![1]!.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
    expect(listed.sort()).toEqual([...HANDLER_ERROR_CODES].sort());
  });

  it("documents every limit with its default", () => {
    for (const [key, value] of Object.entries(DEFAULT_LIMITS)) {
      expect(protocol, key).toMatch(new RegExp("\\| `" + key + "` \\| " + value + " \\|"));
    }
    for (const key of ["wsMaxPayloadBytes", "heartbeatIntervalMs", "defaultTimeoutMs", "dependencyWaitMs", "idempotencyTtlMs", "shutdownGraceMs"] as const) {
      expect(protocol, key).toContain(`| \`${key}\` | ${DEFAULT_CONFIG[key]} |`);
    }
  });

  it("documents every command", () => {
    const registry = new CommandRegistry();
    for (const d of BUILTIN_COMMANDS) registry.register(d);
    registerImmediateCommands(registry);
    const types = registry.laneCommands().map((d) => d.type);
    for (const t of types) expect(protocol, t).toMatch(new RegExp("^\\| `" + t + "` \\|", "m"));
  });
});
