/** PROTOCOL.md is normative: it must name every error code, limit and command the code has. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BUILTIN_COMMANDS } from "../../src/commands/builtin/index.js";
import { registerOperatorCommands } from "../../src/operator/register.js";
import { CommandRegistry } from "../../src/commands/registry.js";
import { DEFAULT_CONFIG, DEFAULT_LIMITS } from "../../src/config/defaults.js";
import { ERROR_CODES, HANDLER_ERROR_CODES } from "../../src/protocol/errors.js";
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from "../../src/journal/migrations/index.js";
import { HISTORY_STATUSES } from "../../src/journal/queries.js";
import { SqliteStore } from "../../src/journal/sqlite-store.js";

const root = join(import.meta.dirname, "../..");
const protocol = readFileSync(join(root, "PROTOCOL.md"), "utf8");
const schemaDoc = readFileSync(join(root, "docs/journal-schema.md"), "utf8");
const codes = (text: string): string[] => [...text.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);

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
    registerOperatorCommands(registry);
    const types = registry.laneCommands().map((d) => d.type);
    for (const t of types) expect(protocol, t).toMatch(new RegExp("^\\| `" + t + "` \\|", "m"));
  });
});

describe("#19 stale docs", () => {
  it("#19 PROTOCOL.md's history status filter lists exactly the statuses the server accepts; get_command.governance is an object", () => {
    const row = /^\| `status` \| (.+?) \| the command's current status/m.exec(protocol);
    expect(row).not.toBeNull();
    expect(codes(row![1]!).sort()).toEqual([...HISTORY_STATUSES].sort());
    expect(protocol).not.toMatch(/match nothing/);
    expect(protocol).not.toMatch(/governance`: always `\[\]`/);
    expect(protocol).toMatch(/`governance`: an object, present for every command/);
  });

  it("#19 docs/journal-schema.md names the current schema version, every migration, journal phase and command status", () => {
    expect(schemaDoc).toContain(`Schema version: **${LATEST_SCHEMA_VERSION}**`);
    for (const m of MIGRATIONS) expect(schemaDoc, `migration ${m.version}`).toMatch(new RegExp(`^\\| ${m.version} \\| `, "m"));
    // the phases and statuses the real schema's CHECK constraints allow
    const store = new SqliteStore({ path: ":memory:", durability: "off" });
    store.open();
    const sql = (name: string): string => (store.database().prepare("SELECT sql FROM sqlite_master WHERE name = ?").get(name) as { sql: string }).sql;
    const allowed = (table: string, column: string): string[] => [...sql(table).matchAll(new RegExp(`${column} = '([a-z_]+)'`, "g"))].map((m) => m[1]!);
    const phases = allowed("journal", "phase");
    const statuses = allowed("commands", "status");
    store.close();
    expect(phases).toHaveLength(11);
    expect(new Set(statuses)).toEqual(new Set(HISTORY_STATUSES));
    const phaseRow = /^\| `phase` \| TEXT \| (.+) \|$/m.exec(schemaDoc);
    const statusRow = /^\| `status` \| TEXT \| (.+) \|$/m.exec(schemaDoc);
    expect(new Set(codes(phaseRow![1]!))).toEqual(new Set(phases));
    expect(new Set(codes(statusRow![1]!))).toEqual(new Set(statuses));
  });
});
