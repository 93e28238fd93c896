/**
 * Every configurable setting and its default. `causeway serve --help`, PROTOCOL.md "Limits" and
 * README's configuration table are generated from / checked against this one object.
 */
import type { ServerLimits } from "../protocol/types.js";

export type Durability = "full" | "normal" | "off";
export type RedisDurability = "strict" | "relaxed";

export interface CausewayConfig {
  host: string;
  port: number;
  path: string;
  stdio: boolean;
  /** bearer tokens file; null: no authentication, WebSocket open on loopback only */
  tokensFile: string | null;
  /** allow a non-loopback host without a tokens file (open to anyone who can reach it) */
  insecure: boolean;
  /**
   * browser origins (`Origin` header) allowed to open a WebSocket, besides the loopback origins of
   * the server's own port; `*` allows any. Upgrades without an Origin header are always allowed.
   */
  allowOrigin: string[];
  /** actor of stdio connections, and of every WebSocket connection when no tokens file is set */
  localActor: string;
  /** roles of that local actor */
  localRoles: string[];
  /** governance policy file; null: open policy (nothing needs approval, nothing is denied) */
  policyFile: string | null;
  /** SQLite journal file, or ":memory:" for the in-memory store */
  db: string;
  durability: Durability;
  /**
   * the journal store: null for the SQLite journal at `db`; `redis://[user:password@]host:port/db`
   * (or `rediss://`) for the Redis store (issue #18; docs/redis-store.md), whose local read model
   * lives beside `db`
   */
  store: string | null;
  /**
   * `strict`: the Redis store refuses to start unless redis-server runs with `appendonly yes` and
   * `appendfsync always`; `relaxed`: it starts anyway, and health_check and /readyz say so
   */
  redisDurability: RedisDurability;
  /**
   * this node's name on a Redis journal shared by several causeway nodes (docs/redis-store.md
   * "Several nodes"): each session lane is owned by one node at a time, the server lane is
   * `server@<node>`; null: one node holds the whole journal (the single-writer lease)
   */
  node: string | null;
  /** where clients reach this node (named in `not_owner` answers); null: not advertised */
  nodeUrl: string | null;
  /** the Redis leases' time to live (the journal lease, or a node's lease); renewed every third of it */
  redisLeaseTtlMs: number;
  /**
   * take the journal's single-writer lease over even when its holder looks alive (a fresh
   * heartbeat from a live pid): for a lease left behind by a process that is not causeway; logged
   */
  takeOverLease: boolean;
  /** user command modules (ESM paths) */
  commands: string[];
  /** refuse unknown top-level command fields (default: ignore them, as pi-server does; they still count in the fingerprint) */
  strict: boolean;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  limits: ServerLimits;
  /** WebSocket hard ceiling (ws `maxPayload`); frames above it close the socket with 1009 (frames between maxFrameBytes and it are answered payload_too_large) */
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
   * every handler, deterministic ones too, runs only after its `started` row is committed, so a
   * handler that freezes the process is named by the journal (PROTOCOL.md, "Handler limits")
   */
  traceStarts: boolean;
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
  /** bits of the in-memory filter of journaled command ids and idempotency keys (a miss skips SQLite at admission); 0 disables */
  admissionFilterBits: number;
  /** WAL checkpoints run by a worker thread this often, not inside commits on the main thread; 0 leaves them to the writer */
  checkpointIntervalMs: number;
  /** the derived tables (commands, idempotency, sessions, lanes) written every this many ms, not with every batch (src/journal/projection.ts); 0: with every batch */
  projectionFlushMs: number;
  /** ... or once this many journal records wait for them (the deferred state in memory is bounded by it) */
  projectionMaxRecords: number;
  /** test-only: make the Nth journal commit (1-based, counted from open) fail; 0 disables */
  faultFailCommit: number;
  /** test-only: how many consecutive commits fail once the fault triggers */
  faultFailCount: number;
  /** test-only: the SQLite error the failing commits raise: `ioerr` (SQLITE_IOERR) or `full` (SQLITE_FULL, disk full) */
  faultKind: "ioerr" | "full";
}

/** 2^24 bits (2 MiB): about 0.05 % false positives at one million ids and keys (src/journal/bloom.ts) */
export const DEFAULT_ADMISSION_FILTER_BITS = 2 ** 24;

/** the bound of the records whose derived rows wait for a flush (src/journal/projection.ts) */
export const DEFAULT_PROJECTION_MAX_RECORDS = 50_000;

export const DEFAULT_LIMITS: ServerLimits = {
  maxFrameBytes: 10 * 1024 * 1024,
  maxJsonDepth: 64,
  maxIdLength: 256,
  maxDependsOn: 32,
  maxTags: 16,
  maxPending: 10_000,
  maxPendingPerActor: 1_000,
  maxScheduleAheadMs: 30 * 24 * 60 * 60 * 1000,
  maxApprovalWindowMs: 7 * 24 * 60 * 60 * 1000,
  maxRecoveryAttempts: 3,
  maxQueuePerLane: 1024,
  // each may hold its lane for dependencyWaitMs: a command waits behind at most 8 × 30 s of them
  maxDependencyWaitersPerLane: 8,
  maxInFlightPerConnection: 1024,
  maxSessions: 100_000,
  maxTimeoutMs: 10 * 60 * 1000,
  maxOutboundBytes: 8 * 1024 * 1024,
  maxOutboundBytesTotal: 128 * 1024 * 1024,
  maxConnections: 1024,
  historyPageMax: 500,
  // every successful write journals the whole state and keeps it in memory: 1 MiB bounds both per
  // write and per session, and equals maxFrameBytes (a state fits in about one `set` frame)
  maxStateBytes: 1024 * 1024,
  // above maxStateBytes so that get_state ({state}) of a full state still answers; bounds what
  // one command puts in the journal, the outcome cache and a response frame
  maxResultBytes: 2 * 1024 * 1024,
};

export const DEFAULT_CONFIG: CausewayConfig = {
  host: "127.0.0.1",
  port: 3141,
  path: "/",
  stdio: false,
  tokensFile: null,
  insecure: false,
  allowOrigin: [],
  localActor: "local",
  localRoles: ["admin"],
  policyFile: null,
  db: "data/causeway.db",
  durability: "full",
  store: null,
  redisDurability: "strict",
  node: null,
  nodeUrl: null,
  redisLeaseTtlMs: 10_000,
  takeOverLease: false,
  commands: [],
  strict: false,
  logLevel: "info",
  limits: DEFAULT_LIMITS,
  wsMaxPayloadBytes: 16 * 1024 * 1024,
  heartbeatIntervalMs: 30_000,
  defaultTimeoutMs: 30_000,
  timeouts: {},
  dependencyWaitMs: 30_000,
  idempotencyTtlMs: 24 * 60 * 60 * 1000,
  failUnstartedOnRecovery: false,
  shutdownGraceMs: 10_000,
  traceStarts: false,
  redact: {},
  retentionMaxAgeMs: 0,
  retentionMaxCommands: 0,
  retentionMaxBytes: 0,
  retentionBatchRows: 2_000,
  retentionIntervalMs: 60_000,
  admissionFilterBits: DEFAULT_ADMISSION_FILTER_BITS,
  checkpointIntervalMs: 250,
  projectionFlushMs: 500,
  projectionMaxRecords: DEFAULT_PROJECTION_MAX_RECORDS,
  faultFailCommit: 0,
  faultFailCount: 1,
  faultKind: "ioerr",
};
