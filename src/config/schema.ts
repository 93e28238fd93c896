/**
 * The table of every configuration option (derived from DEFAULT_CONFIG / DEFAULT_LIMITS), and the
 * JSON Schema of the config file generated from it.
 *
 * Naming rule, for every key K of CausewayConfig (other than `limits`) and every key of ServerLimits:
 *   flag: `--` + kebab-case(K)            e.g. maxFrameBytes → --max-frame-bytes
 *   env:  `CAUSEWAY_` + UPPER_SNAKE(K)     e.g. maxFrameBytes → CAUSEWAY_MAX_FRAME_BYTES
 *   file: the same shape as CausewayConfig (limits nested under "limits")
 * The exceptions: `timeouts` (a map): its flag is the repeatable `--timeout <type=ms>`, and its
 * env var CAUSEWAY_TIMEOUTS holds a comma list `type=ms,type=ms`; `tokensFile`: its flag is
 * `--tokens <file>` (env CAUSEWAY_TOKENS_FILE), and it may be null in the file. `redact` (type "rules") takes JSON
 * text in its flag `--redact <json>` and env var CAUSEWAY_REDACT.
 */
import { DEFAULT_CONFIG, DEFAULT_LIMITS, type CausewayConfig } from "./defaults.js";
import { redactRulesSchema } from "./redaction-rules.js";
import type { ServerLimits } from "../protocol/types.js";

/** a setting's name once `limits` is flattened into the top level */
export type SettingKey = Exclude<keyof CausewayConfig, "limits"> | keyof ServerLimits;

/** `rules`: the redaction rules (JSON: file object, env / flag JSON text) */
export type OptionType = "string" | "integer" | "boolean" | "enum" | "list" | "map" | "rules";

export interface ConfigOption {
  /** flat setting name (also the commander attribute name), e.g. `maxFrameBytes` */
  name: SettingKey;
  /** dotted path in CausewayConfig and in the config file, e.g. `limits.maxFrameBytes` */
  key: string;
  /** true for the keys of `limits` */
  limit: boolean;
  /** long flag without its argument, e.g. `--max-frame-bytes` */
  flag: string;
  /** argument placeholder for the flag, e.g. `<n>`; empty for boolean flags */
  arg: string;
  env: string;
  default: unknown;
  description: string;
  type: OptionType;
  choices?: readonly string[];
  minimum?: number;
  maximum?: number;
  /** a string setting's shape: the regular expression and what a refusal says */
  pattern?: { source: string; says: string };
}

export const DURABILITY_CHOICES = ["full", "normal", "off"] as const;
export const REDIS_DURABILITY_CHOICES = ["strict", "relaxed"] as const;
export const FAULT_KIND_CHOICES = ["ioerr", "full"] as const;
export const LOG_LEVEL_CHOICES = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

interface OptionMeta {
  description: string;
  /** overrides the type derived from the default value */
  type?: OptionType;
  arg?: string;
  /** overrides the flag derived from the name (kebab-case) */
  flag?: string;
  choices?: readonly string[];
  minimum?: number;
  maximum?: number;
  pattern?: { source: string; says: string };
}

/** Typed so that adding a setting to CausewayConfig or ServerLimits without describing it fails to compile. */
const META: { [K in SettingKey]: OptionMeta } = {
  host: { description: "interface the WebSocket server listens on", arg: "<host>" },
  port: { description: "WebSocket port (0 picks a free port)", arg: "<port>", minimum: 0, maximum: 65535 },
  path: { description: "WebSocket URL path", arg: "<path>", pattern: { source: "^/", says: 'must start with "/"' } },
  stdio: { description: "serve JSON lines on stdin/stdout instead of WebSocket" },
  tokensFile: {
    description: "bearer tokens file (JSON: sha256 digest → actor, roles; see causeway hash-token); WebSocket clients must send Authorization: Bearer <token>",
    arg: "<file>",
    flag: "--tokens",
    type: "string",
  },
  insecure: { description: "allow a non-loopback --host without a tokens file (no authentication: every client is the local actor)" },
  allowOrigin: {
    description:
      "browser origins allowed to open a WebSocket, besides http://127.0.0.1|localhost|[::1]:<port> (repeatable or comma-separated; * = any); an upgrade with any other Origin header is refused with 403",
    arg: "<origins...>",
  },
  localActor: { description: "actor of stdio connections, and of every WebSocket connection when no tokens file is set", arg: "<actor>" },
  localRoles: { description: "roles of the local actor (repeatable or comma-separated)", arg: "<roles...>" },
  policyFile: { description: "governance policy file (JSON; see PROTOCOL.md Policies): role gates, deny rules, approvals", arg: "<file>", type: "string" },
  db: { description: 'SQLite journal file (":memory:" for no persistence)', arg: "<path>" },
  durability: { description: "journal fsync policy", arg: "<mode>", choices: DURABILITY_CHOICES },
  store: {
    description: "journal store URL: redis://[user:password@]host:port/db (or rediss://) runs on Redis (docs/redis-store.md); unset: the SQLite journal at --db",
    arg: "<url>",
    type: "string",
    pattern: { source: "^rediss?://", says: "must be a redis:// or rediss:// URL" },
  },
  redisDurability: {
    description: "strict: refuse to start on a redis-server without appendonly yes + appendfsync always; relaxed: start anyway (reported by health_check and /readyz)",
    arg: "<mode>",
    choices: REDIS_DURABILITY_CHOICES,
  },
  node: {
    description: "this node's name on a Redis journal shared by several nodes: session lanes are owned one node at a time (not_owner names the owner), the server lane is server@<node>; unset: one node holds the whole journal",
    arg: "<name>",
    type: "string",
    pattern: { source: "^[A-Za-z0-9._-]{1,64}$", says: "must be 1-64 characters of A-Z a-z 0-9 . _ -" },
  },
  nodeUrl: { description: "the URL clients reach this node at, named in not_owner answers (with --node)", arg: "<url>", type: "string" },
  redisLeaseTtlMs: { description: "time to live of the Redis leases (the journal's, or a node's with --node); renewed every third of it; a dead node's lanes are taken over after it", arg: "<ms>", minimum: 300 },
  takeOverLease: { description: "take the journal's single-writer lease over even from a holder that looks alive (a live pid with a fresh heartbeat); only when no causeway is running on the db (logged)" },
  commands: { description: "user command modules (ESM paths; repeatable or comma-separated)", arg: "<paths...>" },
  strict: { description: "refuse unknown top-level command fields with invalid_command (default: ignore them as pi-server does; they still count in the fingerprint)" },
  logLevel: { description: "log level (logs go to stderr)", arg: "<level>", choices: LOG_LEVEL_CHOICES },
  wsMaxPayloadBytes: { description: "WebSocket hard ceiling (ws maxPayload); larger frames close the socket with 1009", arg: "<bytes>", minimum: 1 },
  heartbeatIntervalMs: { description: "WebSocket ping interval; a peer that misses one ping is dropped (0 disables)", arg: "<ms>", minimum: 0 },
  defaultTimeoutMs: { description: "timeout of command types that declare none", arg: "<ms>", minimum: 1 },
  timeouts: { description: "per command type timeout (repeatable)", arg: "<type=ms>" },
  dependencyWaitMs: { description: "how long a dependent waits for a dependency in another lane", arg: "<ms>", minimum: 0 },
  idempotencyTtlMs: { description: "how long a finished command's idempotency key stays live", arg: "<ms>", minimum: 0 },
  failUnstartedOnRecovery: { description: "on restart, fail accepted-but-never-started commands instead of re-queueing them" },
  shutdownGraceMs: { description: "drain time on SIGINT/SIGTERM/stdin EOF before giving up on in-flight commands", arg: "<ms>", minimum: 0 },
  traceStarts: { description: "run every handler (deterministic ones too) only after its started row is committed, so a handler that freezes the server is named by the journal" },
  redact: {
    description: 'redaction rules as JSON: command type (or "*") → ["/param/pointer", "outcome:/data/pointer", "bareKey"]; redacted values are journaled as "[REDACTED]"',
    arg: "<json>",
    type: "rules",
  },
  retentionMaxAgeMs: { description: "retention: compact away finished commands older than this (0: no age limit)", arg: "<ms>", minimum: 0 },
  retentionMaxCommands: { description: "retention: keep at most this many commands (0: no count limit)", arg: "<n>", minimum: 0 },
  retentionMaxBytes: { description: "retention: keep the database under about this many bytes (0: no size limit)", arg: "<bytes>", minimum: 0 },
  retentionBatchRows: { description: "retention: journal rows removed per compaction transaction", arg: "<n>", minimum: 1 },
  retentionIntervalMs: { description: "retention: how often the background compactor runs", arg: "<ms>", minimum: 1 },
  checkpointIntervalMs: { description: "how often a worker thread checkpoints the WAL into the database file, so commits on the main thread never do (0: the writer checkpoints inside commits, SQLite's default)", arg: "<ms>", minimum: 0 },
  projectionFlushMs: { description: "how often the tables derived from the journal (commands, idempotency, sessions, lanes) are written; the journal is still committed with every batch and the tables catch up from it at restart (0: written with every batch)", arg: "<ms>", minimum: 0 },
  projectionMaxRecords: { description: "write the derived tables once this many journal records wait for them (bounds the memory they hold)", arg: "<n>", minimum: 1 },
  admissionFilterBits: { description: "bits of the in-memory filter of journaled ids and idempotency keys, so admitting a new id or key needs no SQLite lookup (0 disables)", arg: "<bits>", minimum: 0 },
  faultFailCommit: { description: "test only: make the Nth journal commit fail (0 disables)", arg: "<n>", minimum: 0 },
  faultFailCount: { description: "test only: how many consecutive commits fail once the fault triggers", arg: "<n>", minimum: 1 },
  faultKind: { description: "test only: the SQLite error a failing commit raises (ioerr = SQLITE_IOERR, full = SQLITE_FULL)", arg: "<kind>", choices: FAULT_KIND_CHOICES },
  maxFrameBytes: { description: "largest accepted frame / stdio line → payload_too_large", arg: "<bytes>", minimum: 1 },
  maxJsonDepth: { description: "JSON nesting depth limit → invalid_command", arg: "<n>", minimum: 1 },
  maxIdLength: { description: "longest id, idempotencyKey, sessionId, dependsOn entry → invalid_command", arg: "<n>", minimum: 1 },
  maxDependsOn: { description: "most dependsOn entries → invalid_command", arg: "<n>", minimum: 0 },
  maxTags: { description: "most envelope tags per command → invalid_command", arg: "<n>", minimum: 0 },
  maxPending: { description: "most commands pending approval or schedule at once → busy", arg: "<n>", minimum: 1 },
  maxPendingPerActor: { description: "most commands one actor may have pending approval or schedule at once → busy", arg: "<n>", minimum: 1 },
  maxScheduleAheadMs: { description: "how far ahead of the server clock notBefore may lie → invalid_command", arg: "<ms>", minimum: 0 },
  maxApprovalWindowMs: { description: "cap on a policy's approval window (expiresInMs)", arg: "<ms>", minimum: 1 },
  maxRecoveryAttempts: { description: "restarts after which a retryable command found running at a crash fails interrupted instead of running again", arg: "<n>", minimum: 0 },
  maxQueuePerLane: { description: "commands queued in one lane → busy", arg: "<n>", minimum: 1 },
  maxDependencyWaitersPerLane: {
    description: "commands in one lane that may wait for a dependency in another lane (each up to dependencyWaitMs) → busy",
    arg: "<n>",
    minimum: 1,
  },
  maxInFlightPerConnection: { description: "commands one connection may have in flight → busy", arg: "<n>", minimum: 1 },
  maxSessions: { description: "sessions → limit_exceeded", arg: "<n>", minimum: 1 },
  maxTimeoutMs: { description: "cap on any command timeout", arg: "<ms>", minimum: 1 },
  maxOutboundBytes: { description: "per-connection outbound buffer before events are dropped (and stdio input pauses)", arg: "<bytes>", minimum: 1 },
  maxOutboundBytesTotal: { description: "outbound bytes queued over all WebSocket connections; above it the largest buffer is closed as a slow consumer", arg: "<bytes>", minimum: 1 },
  maxConnections: { description: "open WebSocket connections; further upgrades are refused with HTTP 503", arg: "<n>", minimum: 1 },
  historyPageMax: { description: "history page size", arg: "<n>", minimum: 1 },
  maxStateBytes: { description: "largest session state after a write, as JSON bytes → state_too_large (keep it below maxResultBytes, or get_state of a full state fails)", arg: "<bytes>", minimum: 1 },
  maxResultBytes: { description: "largest handler result (response data), as JSON bytes → result_too_large", arg: "<bytes>", minimum: 1 },
};

export function kebabCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function upperSnakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
}

export const ENV_PREFIX = "CAUSEWAY_";

function optionType(name: string, value: unknown, meta: OptionMeta): OptionType {
  if (meta.type) return meta.type;
  if (meta.choices) return "enum";
  if (typeof value === "boolean") return "boolean";
  if (typeof value === "number") return "integer";
  if (typeof value === "string") return "string";
  if (Array.isArray(value)) return "list";
  if (value !== null && typeof value === "object") return "map";
  throw new Error(`config: cannot derive the type of ${name}`);
}

function buildOption(name: SettingKey, limit: boolean, value: unknown): ConfigOption {
  const meta = META[name];
  const type = optionType(name, value, meta);
  const option: ConfigOption = {
    name,
    key: limit ? `limits.${name}` : name,
    limit,
    flag: meta.flag ?? (name === "timeouts" ? "--timeout" : `--${kebabCase(name)}`),
    arg: type === "boolean" ? "" : (meta.arg ?? "<value>"),
    env: ENV_PREFIX + upperSnakeCase(name),
    default: Array.isArray(value) ? [...value] : value !== null && typeof value === "object" ? { ...value } : value,
    description: meta.description,
    type,
  };
  if (meta.choices) option.choices = meta.choices;
  if (meta.minimum !== undefined) option.minimum = meta.minimum;
  if (meta.maximum !== undefined) option.maximum = meta.maximum;
  if (meta.pattern) option.pattern = meta.pattern;
  return option;
}

/** Every setting and limit, in DEFAULT_CONFIG order with the limits where `limits` sits. */
export const CONFIG_OPTIONS: readonly ConfigOption[] = Object.freeze(
  Object.entries(DEFAULT_CONFIG).flatMap(([name, value]): ConfigOption[] =>
    name === "limits"
      ? Object.entries(DEFAULT_LIMITS).map(([limitName, limitValue]) => buildOption(limitName as keyof ServerLimits, true, limitValue))
      : [buildOption(name as SettingKey, false, value)],
  ),
);

type JsonSchema = Record<string, unknown>;

function optionSchema(o: ConfigOption): JsonSchema {
  switch (o.type) {
    case "boolean":
      return { type: "boolean" };
    case "enum":
      return { type: "string", enum: [...(o.choices ?? [])] };
    case "string":
      return o.pattern ? { type: "string", minLength: 1, pattern: o.pattern.source } : { type: "string", minLength: 1 };
    case "list":
      return { type: "array", items: { type: "string", minLength: 1 } };
    case "map":
      return { type: "object", additionalProperties: { type: "integer", minimum: 1 } };
    case "rules":
      return redactRulesSchema();
    case "integer": {
      const s: JsonSchema = { type: "integer" };
      if (o.minimum !== undefined) s.minimum = o.minimum;
      if (o.maximum !== undefined) s.maximum = o.maximum;
      return s;
    }
  }
}

/** JSON Schema of the config file: CausewayConfig, every key optional, nothing else allowed. */
export function configFileSchema(): JsonSchema {
  const top: Record<string, JsonSchema> = { $schema: { type: "string" } };
  const limits: Record<string, JsonSchema> = {};
  // a setting whose default is null (tokensFile) may also be null in the file
  for (const o of CONFIG_OPTIONS) (o.limit ? limits : top)[o.name] = o.default === null ? { anyOf: [optionSchema(o), { type: "null" }] } : optionSchema(o);
  top.limits = { type: "object", properties: limits, additionalProperties: false };
  return { type: "object", properties: top, additionalProperties: false };
}
