/**
 * Every configurable setting and its default. `causeway serve --help`, PROTOCOL.md "Limits" and
 * README's configuration table are generated from / checked against this one object.
 */
import type { ServerLimits } from "../protocol/types.js";

export type Durability = "full" | "normal" | "off";

export interface CausewayConfig {
  host: string;
  port: number;
  path: string;
  stdio: boolean;
  /** bearer tokens file (issue 5); null: no authentication, WebSocket open on loopback only */
  tokensFile: string | null;
  /** allow a non-loopback host without a tokens file (open to anyone who can reach it) */
  insecure: boolean;
  /** actor of stdio connections, and of every WebSocket connection when no tokens file is set */
  localActor: string;
  /** roles of that local actor */
  localRoles: string[];
  /** governance policy file (issue 5); null: open policy (nothing needs approval, nothing is denied) */
  policyFile: string | null;
  /** SQLite journal file, or ":memory:" for the in-memory store */
  db: string;
  durability: Durability;
  /**
   * take the journal's single-writer lease over even when its holder looks alive (a fresh
   * heartbeat from a live pid): for a lease left behind by a process that is not causeway; logged
   */
  takeOverLease: boolean;
  /** user command modules (ESM paths) */
  commands: string[];
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  limits: ServerLimits;
  /** WebSocket hard ceiling (ws `maxPayload`); frames above it close the socket with 1009 */
  wsMaxPayloadBytes: number;
  heartbeatIntervalMs: number;
  /** default timeout for command types that declare none */
  defaultTimeoutMs: number;
  /** per command type timeout overrides */
  timeouts: Record<string, number>;
  /** how long a dependent waits for a dependency in another lane */
  dependencyWaitMs: number;
  idempotencyTtlMs: number;
  /** on restart, fail accepted-but-never-started commands instead of re-queueing them */
  failUnstartedOnRecovery: boolean;
  /** grace period for draining in-flight commands on shutdown */
  shutdownGraceMs: number;
  /**
   * Redaction rules: command type (or "*") → rules. A rule is a JSON Pointer into the params
   * ("/password"), "outcome:" + a pointer under /data or /error ("outcome:/data/token"), or a bare
   * property name redacted at any depth ("apiKey"). See src/journal/redaction.ts.
   */
  redact: Record<string, string[]>;
  /** retention: remove finished commands older than this (0: no age limit) */
  retentionMaxAgeMs: number;
  /** retention: keep at most this many commands (0: no count limit) */
  retentionMaxCommands: number;
  /** retention: keep the database under about this many bytes (0: no size limit) */
  retentionMaxBytes: number;
  /** retention: journal rows removed per compaction transaction */
  retentionBatchRows: number;
  /** retention: how often the background compactor runs */
  retentionIntervalMs: number;
  /** test-only: make the Nth journal commit (1-based, counted from open) fail; 0 disables */
  faultFailCommit: number;
  /** test-only: how many consecutive commits fail once the fault triggers */
  faultFailCount: number;
  /** test-only: the SQLite error the failing commits raise: `ioerr` (SQLITE_IOERR) or `full` (SQLITE_FULL, disk full) */
  faultKind: "ioerr" | "full";
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxFrameBytes: 1024 * 1024,
  maxJsonDepth: 64,
  maxIdLength: 256,
  maxDependsOn: 32,
  maxTags: 16,
  maxPending: 10_000,
  maxQueuePerLane: 1024,
  maxInFlightPerConnection: 1024,
  maxSessions: 100_000,
  maxTimeoutMs: 10 * 60 * 1000,
  maxOutboundBytes: 8 * 1024 * 1024,
  historyPageMax: 500,
};

export const DEFAULT_CONFIG: CausewayConfig = {
  host: "127.0.0.1",
  port: 3141,
  path: "/",
  stdio: false,
  tokensFile: null,
  insecure: false,
  localActor: "local",
  localRoles: ["admin"],
  policyFile: null,
  db: "data/causeway.db",
  durability: "full",
  takeOverLease: false,
  commands: [],
  logLevel: "info",
  limits: DEFAULT_LIMITS,
  wsMaxPayloadBytes: 4 * 1024 * 1024,
  heartbeatIntervalMs: 30_000,
  defaultTimeoutMs: 30_000,
  timeouts: {},
  dependencyWaitMs: 30_000,
  idempotencyTtlMs: 24 * 60 * 60 * 1000,
  failUnstartedOnRecovery: false,
  shutdownGraceMs: 10_000,
  redact: {},
  retentionMaxAgeMs: 0,
  retentionMaxCommands: 0,
  retentionMaxBytes: 0,
  retentionBatchRows: 2_000,
  retentionIntervalMs: 60_000,
  faultFailCommit: 0,
  faultFailCount: 1,
  faultKind: "ioerr",
};
