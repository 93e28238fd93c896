import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, DEFAULT_LIMITS } from "../../src/config/defaults.js";
import { CONFIG_OPTIONS, ConfigError, loadConfig } from "../../src/config/load.js";

const dir = mkdtempSync(join(tmpdir(), "causeway-config-"));
let n = 0;
function configFile(content: unknown): string {
  const file = join(dir, `c${++n}.json`);
  writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("returns the defaults when nothing is set (and does not share DEFAULT_LIMITS)", () => {
    const c = loadConfig({ flags: {}, env: {} });
    expect(c).toEqual(DEFAULT_CONFIG);
    expect(c.limits).not.toBe(DEFAULT_LIMITS);
    c.limits.maxFrameBytes = 1;
    expect(DEFAULT_LIMITS.maxFrameBytes).toBe(10 * 1024 * 1024);
  });

  it("applies precedence flags > env > file > defaults, per key", () => {
    const file = configFile({ host: "0.0.0.0", port: 1111, path: "/file", logLevel: "debug", limits: { maxFrameBytes: 111, maxJsonDepth: 11 } });
    const env = { CAUSEWAY_PORT: "2222", CAUSEWAY_PATH: "/env", CAUSEWAY_MAX_FRAME_BYTES: "222" };
    const c = loadConfig({ flags: { port: "3333", maxFrameBytes: "333" }, env, configFile: file });
    expect(c.port).toBe(3333); // flag
    expect(c.limits.maxFrameBytes).toBe(333); // flag
    expect(c.path).toBe("/env"); // env over file
    expect(c.host).toBe("0.0.0.0"); // file over default
    expect(c.logLevel).toBe("debug");
    expect(c.limits.maxJsonDepth).toBe(11); // file
    expect(c.limits.maxIdLength).toBe(DEFAULT_LIMITS.maxIdLength); // default
    expect(c.durability).toBe("full");
  });

  it("takes the config file from CAUSEWAY_CONFIG when no file is given", () => {
    const file = configFile({ port: 4444 });
    expect(loadConfig({ env: { CAUSEWAY_CONFIG: file } }).port).toBe(4444);
  });

  it("sets every limit from the environment and from the file", () => {
    const limitOptions = CONFIG_OPTIONS.filter((o) => o.limit);
    expect(limitOptions.map((o) => o.name).sort()).toEqual(Object.keys(DEFAULT_LIMITS).sort());
    const env: Record<string, string> = {};
    const fileLimits: Record<string, number> = {};
    limitOptions.forEach((o, i) => {
      env[o.env] = String(1000 + i);
      fileLimits[o.name] = 2000 + i;
    });
    const fromEnv = loadConfig({ env });
    const fromFile = loadConfig({ env: {}, configFile: configFile({ limits: fileLimits }) });
    limitOptions.forEach((o, i) => {
      expect(fromEnv.limits[o.name as keyof typeof DEFAULT_LIMITS]).toBe(1000 + i);
      expect(fromFile.limits[o.name as keyof typeof DEFAULT_LIMITS]).toBe(2000 + i);
    });
  });

  it("covers every setting with an option whose env var and flag follow the naming rule", () => {
    const names = CONFIG_OPTIONS.map((o) => o.name);
    const expected = [...Object.keys(DEFAULT_CONFIG).filter((k) => k !== "limits"), ...Object.keys(DEFAULT_LIMITS)];
    expect([...names].sort()).toEqual([...expected].sort());
    for (const o of CONFIG_OPTIONS) {
      const snake = o.name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
      expect(o.env).toBe(`CAUSEWAY_${snake}`);
      const exception: Record<string, string> = { timeouts: "--timeout", tokensFile: "--tokens" };
      expect(o.flag).toBe(exception[o.name] ?? `--${o.name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
      expect(o.description.length).toBeGreaterThan(5);
    }
    expect(CONFIG_OPTIONS.find((o) => o.name === "maxFrameBytes")).toMatchObject({ flag: "--max-frame-bytes", env: "CAUSEWAY_MAX_FRAME_BYTES", default: 10485760, key: "limits.maxFrameBytes" });
  });

  it("sets every other setting from the environment", () => {
    const env = {
      CAUSEWAY_HOST: "::1",
      CAUSEWAY_PORT: "0",
      CAUSEWAY_PATH: "/p",
      CAUSEWAY_STDIO: "true",
      CAUSEWAY_TOKENS_FILE: "/etc/causeway/tokens.json",
      CAUSEWAY_INSECURE: "yes",
      CAUSEWAY_ALLOW_ORIGIN: "https://a.example, https://b.example",
      CAUSEWAY_LOCAL_ACTOR: "ops",
      CAUSEWAY_LOCAL_ROLES: "admin, approver",
      CAUSEWAY_POLICY_FILE: "/etc/causeway/policy.json",
      CAUSEWAY_DB: ":memory:",
      CAUSEWAY_DURABILITY: "off",
      CAUSEWAY_TAKE_OVER_LEASE: "true",
      CAUSEWAY_COMMANDS: "a.mjs, b.mjs,,c.mjs",
      CAUSEWAY_STRICT: "true",
      CAUSEWAY_LOG_LEVEL: "warn",
      CAUSEWAY_WS_MAX_PAYLOAD_BYTES: "5",
      CAUSEWAY_HEARTBEAT_INTERVAL_MS: "6",
      CAUSEWAY_DEFAULT_TIMEOUT_MS: "7",
      CAUSEWAY_TIMEOUTS: "slow=9000, fast=10",
      CAUSEWAY_DEPENDENCY_WAIT_MS: "8",
      CAUSEWAY_IDEMPOTENCY_TTL_MS: "9",
      CAUSEWAY_FAIL_UNSTARTED_ON_RECOVERY: "1",
      CAUSEWAY_SHUTDOWN_GRACE_MS: "10",
      CAUSEWAY_TRACE_STARTS: "true",
      CAUSEWAY_REDACT: '{"login":["/password","outcome:/data/token"],"*":["apiKey"]}',
      CAUSEWAY_RETENTION_MAX_AGE_MS: "11",
      CAUSEWAY_RETENTION_MAX_COMMANDS: "12",
      CAUSEWAY_RETENTION_MAX_BYTES: "13",
      CAUSEWAY_RETENTION_BATCH_ROWS: "14",
      CAUSEWAY_RETENTION_INTERVAL_MS: "15",
      CAUSEWAY_FAULT_FAIL_COMMIT: "3",
      CAUSEWAY_FAULT_FAIL_COUNT: "2",
      CAUSEWAY_FAULT_KIND: "full",
      CAUSEWAY_ADMISSION_FILTER_BITS: "4096",
      CAUSEWAY_CHECKPOINT_INTERVAL_MS: "16",
      CAUSEWAY_PROJECTION_FLUSH_MS: "17",
      CAUSEWAY_PROJECTION_MAX_RECORDS: "18",
      CAUSEWAY_STORE: "redis://127.0.0.1:6390/2",
      CAUSEWAY_REDIS_DURABILITY: "relaxed",
      CAUSEWAY_NODE: "n1",
      CAUSEWAY_NODE_URL: "ws://10.0.0.1:3000/",
      CAUSEWAY_REDIS_LEASE_TTL_MS: "1500",
    };
    // the test lists every non-limit env var
    expect(Object.keys(env).sort()).toEqual(CONFIG_OPTIONS.filter((o) => !o.limit).map((o) => o.env).sort());
    const c = loadConfig({ env });
    expect(c).toEqual({
      ...DEFAULT_CONFIG,
      host: "::1",
      port: 0,
      path: "/p",
      stdio: true,
      tokensFile: "/etc/causeway/tokens.json",
      insecure: true,
      allowOrigin: ["https://a.example", "https://b.example"],
      localActor: "ops",
      localRoles: ["admin", "approver"],
      policyFile: "/etc/causeway/policy.json",
      db: ":memory:",
      durability: "off",
      takeOverLease: true,
      commands: ["a.mjs", "b.mjs", "c.mjs"],
      strict: true,
      logLevel: "warn",
      wsMaxPayloadBytes: 5,
      heartbeatIntervalMs: 6,
      defaultTimeoutMs: 7,
      timeouts: { slow: 9000, fast: 10 },
      dependencyWaitMs: 8,
      idempotencyTtlMs: 9,
      retentionMaxAgeMs: 11,
      retentionMaxCommands: 12,
      retentionMaxBytes: 13,
      retentionBatchRows: 14,
      retentionIntervalMs: 15,
      admissionFilterBits: 4096,
      checkpointIntervalMs: 16,
      projectionFlushMs: 17,
      projectionMaxRecords: 18,
      store: "redis://127.0.0.1:6390/2",
      node: "n1",
      nodeUrl: "ws://10.0.0.1:3000/",
      redisLeaseTtlMs: 1500,
      redisDurability: "relaxed",
      failUnstartedOnRecovery: true,
      shutdownGraceMs: 10,
      traceStarts: true,
      redact: { login: ["/password", "outcome:/data/token"], "*": ["apiKey"] },
      faultFailCommit: 3,
      faultFailCount: 2,
      faultKind: "full",
    });
  });

  it("parses CLI-style flags: lists, repeatable --timeout, booleans; merges timeouts across layers", () => {
    const file = configFile({ timeouts: { a: 1, b: 2 }, stdio: true });
    const c = loadConfig({
      flags: { commands: ["x.mjs,y.mjs", "z.mjs"], timeout: ["b=20", "c=30"], stdio: false, failUnstartedOnRecovery: true },
      env: { CAUSEWAY_TIMEOUTS: "a=10" },
      configFile: file,
    });
    expect(c.commands).toEqual(["x.mjs", "y.mjs", "z.mjs"]);
    expect(c.timeouts).toEqual({ a: 10, b: 20, c: 30 });
    expect(c.stdio).toBe(false);
    expect(c.failUnstartedOnRecovery).toBe(true);
  });

  it("takes redaction rules from the file, CAUSEWAY_REDACT and --redact, merged per command type, and validates them", () => {
    const file = configFile({ redact: { login: ["/password"], set: ["/value"] } });
    const c = loadConfig({ env: { CAUSEWAY_REDACT: '{"login":["/password","/otp"],"*":["apiKey"]}' }, flags: { redact: '{"*":["token"]}' }, configFile: file });
    expect(c.redact).toEqual({ login: ["/password", "/otp"], set: ["/value"], "*": ["token"] });
    expect(loadConfig({ env: {}, configFile: file }).redact).toEqual({ login: ["/password"], set: ["/value"] });
    expect(configError(() => loadConfig({ configFile: configFile({ redact: { login: "/password" } }) })).message).toMatch(/redact\.login must be array/);
    expect(configError(() => loadConfig({ configFile: configFile({ redact: { login: ["a/b"] } }) })).message).toMatch(/redact\.login\.0 must match pattern/);
    expect(configError(() => loadConfig({ configFile: configFile({ redact: { login: ["outcome:/command"] } }) })).message).toMatch(/redact\.login\.0 must match pattern/);
    expect(configError(() => loadConfig({ env: { CAUSEWAY_REDACT: "{nope" } })).message).toMatch(/^CAUSEWAY_REDACT: invalid JSON/);
    expect(configError(() => loadConfig({ env: { CAUSEWAY_REDACT: '{"login":["/a~9"]}' } })).message).toMatch(/^CAUSEWAY_REDACT: login: rule "\/a~9" is not a valid JSON Pointer/);
    expect(configError(() => loadConfig({ flags: { redact: '["/password"]' } })).message).toMatch(/^--redact: expected an object/);
  });

  it("resolves relative db and commands paths in a config file against the file's directory", () => {
    const file = configFile({ db: "journal.db", commands: ["./cmds.mjs", "/abs/x.mjs"] });
    const c = loadConfig({ env: {}, configFile: file });
    expect(c.db).toBe(join(dir, "journal.db"));
    expect(c.commands).toEqual([join(dir, "cmds.mjs"), "/abs/x.mjs"]);
    expect(loadConfig({ env: {}, configFile: configFile({ db: ":memory:" }) }).db).toBe(":memory:");
  });

  it("sets the identity options (issue 5): --tokens, --insecure, --local-actor, --local-roles; tokensFile relative to the config file", () => {
    expect(CONFIG_OPTIONS.find((o) => o.name === "tokensFile")).toMatchObject({ flag: "--tokens", arg: "<file>", env: "CAUSEWAY_TOKENS_FILE", default: null, type: "string" });
    expect(DEFAULT_CONFIG).toMatchObject({ tokensFile: null, insecure: false, localActor: "local", localRoles: ["admin"] });
    // commander hands --tokens over as `tokens`
    const c = loadConfig({ flags: { tokens: "t.json", insecure: true, localActor: "ci", localRoles: ["a,b", "c"] }, env: { CAUSEWAY_TOKENS_FILE: "env.json" } });
    expect(c).toMatchObject({ tokensFile: "t.json", insecure: true, localActor: "ci", localRoles: ["a", "b", "c"] });
    expect(loadConfig({ flags: { tokensFile: "prog.json" } }).tokensFile).toBe("prog.json");
    expect(loadConfig({ env: { CAUSEWAY_LOCAL_ROLES: "" } }).localRoles).toEqual([]);
    const file = configFile({ tokensFile: "secrets/tokens.json", localActor: "svc", localRoles: [] });
    expect(loadConfig({ env: {}, configFile: file })).toMatchObject({ tokensFile: join(dir, "secrets/tokens.json"), localActor: "svc", localRoles: [] });
    expect(loadConfig({ env: {}, configFile: configFile({ tokensFile: null }) }).tokensFile).toBeNull();
    expect(configError(() => loadConfig({ flags: { tokens: "" } })).message).toBe("--tokens: expected a non-empty string");
    expect(configError(() => loadConfig({ env: { CAUSEWAY_INSECURE: "maybe" } })).message).toMatch(/^CAUSEWAY_INSECURE: expected a boolean/);
    expect(configError(() => loadConfig({ configFile: configFile({ tokensFile: 5 }) })).message).toMatch(/tokensFile must be string/);
    expect(configError(() => loadConfig({ configFile: configFile({ localRoles: "admin" }) })).message).toMatch(/localRoles must be array/);
  });

  it("#15.1 sets the allowed browser origins from --allow-origin (repeatable, comma lists), CAUSEWAY_ALLOW_ORIGIN or the file; flags > env > file", () => {
    expect(CONFIG_OPTIONS.find((o) => o.name === "allowOrigin")).toMatchObject({ flag: "--allow-origin", arg: "<origins...>", env: "CAUSEWAY_ALLOW_ORIGIN", default: [], type: "list" });
    expect(DEFAULT_CONFIG.allowOrigin).toEqual([]);
    const file = configFile({ allowOrigin: ["https://file.example"] });
    expect(loadConfig({ env: {}, configFile: file }).allowOrigin).toEqual(["https://file.example"]);
    expect(loadConfig({ env: { CAUSEWAY_ALLOW_ORIGIN: "https://env.example,https://env2.example" }, configFile: file }).allowOrigin).toEqual(["https://env.example", "https://env2.example"]);
    const c = loadConfig({ flags: { allowOrigin: ["https://a.example,https://b.example", "https://c.example"] }, env: { CAUSEWAY_ALLOW_ORIGIN: "https://env.example" }, configFile: file });
    expect(c.allowOrigin).toEqual(["https://a.example", "https://b.example", "https://c.example"]);
    expect(configError(() => loadConfig({ configFile: configFile({ allowOrigin: "https://a.example" }) })).message).toMatch(/allowOrigin must be array/);
  });

  it("#15.14 sets maxConnections and maxOutboundBytesTotal like every limit", () => {
    expect(DEFAULT_LIMITS).toMatchObject({ maxConnections: 1024, maxOutboundBytesTotal: 128 * 1024 * 1024 });
    const c = loadConfig({ flags: { maxConnections: "3" }, env: { CAUSEWAY_MAX_OUTBOUND_BYTES_TOTAL: "4096" } });
    expect(c.limits).toMatchObject({ maxConnections: 3, maxOutboundBytesTotal: 4096 });
    expect(configError(() => loadConfig({ env: { CAUSEWAY_MAX_CONNECTIONS: "0" } })).message).toMatch(/^CAUSEWAY_MAX_CONNECTIONS: expected an integer >= 1/);
  });

  it("rejects invalid config files with a message naming the key", () => {
    expect(configError(() => loadConfig({ configFile: configFile({ limits: { maxFrameBytes: "big" } }) })).message).toMatch(/limits\.maxFrameBytes must be integer/);
    expect(configError(() => loadConfig({ configFile: configFile({ limits: { maxFramBytes: 1 } }) })).message).toMatch(/unknown key limits\.maxFramBytes/);
    expect(configError(() => loadConfig({ configFile: configFile({ prot: 1 }) })).message).toMatch(/unknown key prot/);
    expect(configError(() => loadConfig({ configFile: configFile({ port: 70000 }) })).message).toMatch(/port must be <= 65535/);
    expect(configError(() => loadConfig({ configFile: configFile({ limits: { maxQueuePerLane: 0 } }) })).message).toMatch(/limits\.maxQueuePerLane must be >= 1/);
    expect(configError(() => loadConfig({ configFile: configFile({ durability: "sometimes" }) })).message).toMatch(/durability must be equal to one of the allowed values/);
    expect(configError(() => loadConfig({ configFile: configFile({ timeouts: { slow: -1 } }) })).message).toMatch(/timeouts\.slow must be >= 1/);
    expect(configError(() => loadConfig({ configFile: configFile("{ not json") })).message).toMatch(/invalid JSON/);
    expect(configError(() => loadConfig({ configFile: join(dir, "missing.json") })).message).toMatch(/cannot read it \(ENOENT\)/);
    const e = configError(() => loadConfig({ configFile: configFile({ stdio: "yes" }) }));
    expect(e.message).toMatch(/^config file .*c\d+\.json: stdio must be boolean$/);
    expect(e.key).toBe("stdio");
  });

  it("rejects invalid env values and flags, naming the variable or flag", () => {
    expect(configError(() => loadConfig({ env: { CAUSEWAY_PORT: "80x" } })).message).toBe('CAUSEWAY_PORT: expected an integer from 0 to 65535, got "80x"');
    expect(configError(() => loadConfig({ env: { CAUSEWAY_MAX_FRAME_BYTES: "0" } })).message).toMatch(/^CAUSEWAY_MAX_FRAME_BYTES: expected an integer >= 1/);
    expect(configError(() => loadConfig({ env: { CAUSEWAY_STDIO: "maybe" } })).message).toMatch(/^CAUSEWAY_STDIO: expected a boolean/);
    expect(configError(() => loadConfig({ env: { CAUSEWAY_DURABILITY: "some" } })).message).toMatch(/^CAUSEWAY_DURABILITY: expected one of full, normal, off/);
    expect(configError(() => loadConfig({ env: { CAUSEWAY_TIMEOUTS: "slow" } })).message).toMatch(/^CAUSEWAY_TIMEOUTS: expected <type>=<ms>/);
    expect(configError(() => loadConfig({ env: { CAUSEWAY_PATH: "ws" } })).message).toMatch(/^CAUSEWAY_PATH: must start with "\/"/);
    expect(configError(() => loadConfig({ flags: { store: "postgres://db/1" } })).message).toMatch(/^--store: must be a redis:\/\/ or rediss:\/\/ URL, got "postgres:\/\/db\/1"/);
    expect(configError(() => loadConfig({ configFile: configFile({ store: "127.0.0.1:6379" }) })).message).toMatch(/store must match pattern "\^rediss\?:\/\/"/);
    expect(configError(() => loadConfig({ env: { CAUSEWAY_REDIS_DURABILITY: "maybe" } })).message).toMatch(/^CAUSEWAY_REDIS_DURABILITY: expected one of strict, relaxed/);
    expect(loadConfig({ configFile: configFile({ store: null }) }).store).toBeNull();
    expect(configError(() => loadConfig({ flags: { maxSessions: "1.5" } })).message).toMatch(/^--max-sessions: expected an integer >= 1/);
    expect(configError(() => loadConfig({ flags: { timeout: ["x=0"] } })).message).toMatch(/^--timeout: /);
    expect(configError(() => loadConfig({ flags: { nope: 1 } as never })).message).toMatch(/unknown option "nope"/);
  });
});
