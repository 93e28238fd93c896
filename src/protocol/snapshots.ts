/**
 * Wire shapes of what the server reports about itself: SessionInfo, the journal status, the
 * startup recovery summary, lane snapshots and metrics snapshots. The server builds them (in the
 * layers above) and the client reads them; both take the shapes from here.
 */

/**
 * SessionInfo as the wire carries it (create_session, list_sessions, switch_session,
 * session_created): pi-server's `createdAt` is an ISO-8601 string; causeway keeps the epoch ms as
 * `createdAtMs`. src/commands/session-info.ts is the one place that converts.
 */
export interface SessionInfo {
  sessionId: string;
  sessionVersion: number;
  /** ISO-8601 UTC with milliseconds, e.g. "2026-12-02T05:16:21.923Z" */
  createdAt: string;
  /** the same instant, epoch ms */
  createdAtMs: number;
}

/**
 * pi-server's durable-journal status fields, as causeway reports them in get_command_history,
 * get_startup_recovery / startup_recovery_summary and get_metrics (stores.journal). causeway's
 * journal is always on and the server serves only once recovery is done, so it is always
 * enabled, initialized and "ready"; journalPath is the absolute database path (":memory:" for the
 * in-memory store).
 */
export interface JournalStatus {
  enabled: true;
  initialized: true;
  initState: "ready";
  journalPath: string;
  schemaVersion: number;
}

export interface RecoveryBucket {
  count: number;
  /** first RECOVERY_IDS_MAX ids, in journal order */
  ids: string[];
  truncated: boolean;
}

/** pi-server's description of an in-flight command that restart recovery failed. */
export interface RecoveredInFlight {
  commandId: string;
  commandType: string;
  laneKey: string;
  lastPhase: "command_accepted" | "command_started";
  reason: string;
}

/**
 * What restart recovery did: pi-server's StartupRecoveryData fields first (get_startup_recovery,
 * startup_recovery_summary), then causeway's own. causeway reads no journal at startup (only the
 * materialized tables): `entriesScanned` counts the unfinished command rows it read, and no
 * stored outcome is loaded into memory (`recoveredOutcomes` 0: every outcome is looked up in the
 * journal database when needed, none is lost). `recoveredInFlight` lists the commands recovery
 * failed (interrupted, failedUnstarted, unregistered); re-queued ones are not failures.
 */
export interface RecoverySummary extends JournalStatus {
  entriesScanned: number;
  malformedEntries: number;
  unsupportedVersionEntries: number;
  recoveredOutcomes: number;
  recoveredOutcomeIds: string[];
  recoveredOutcomeIdsTruncated: boolean;
  recoveredInFlightFailures: number;
  /** first RECOVERY_IDS_MAX, in journal order */
  recoveredInFlight: RecoveredInFlight[];
  recoveredInFlightTruncated: boolean;
  /** the cap on every list here (RECOVERY_IDS_MAX) */
  maxItemsReturned: number;
  recoveredAt: number;
  lastSeq: number;
  sessions: number;
  unfinished: number;
  requeued: RecoveryBucket;
  interrupted: RecoveryBucket;
  failedUnstarted: RecoveryBucket;
  unregistered: RecoveryBucket;
  /** governed or scheduled commands that stay pending across the restart */
  pending: RecoveryBucket;
}

/** What `get_lanes` reports for one lane. */
export interface LaneInfo {
  laneKey: string;
  /** queued + running commands */
  depth: number;
  /** commands not running: waiting for their turn, or (at the head) for a dependency */
  queued: number;
  head: { commandId: string; type: string; status: string; acceptedAt: number; waitingOn?: string } | null;
  /** epoch ms when the head's handler started, or null if the head is not running */
  runningSince: number | null;
  /** age of the oldest command that is not running, or null if there is none */
  oldestQueuedAgeMs: number | null;
  /** the first commands that are not running, in lane order */
  queue: Array<{ commandId: string; type: string; acceptedAt: number; status: string }>;
}

/** A histogram as plain numbers (for `get_metrics`): cumulative bucket counts, like Prometheus. */
export interface HistogramSnapshot {
  count: number;
  /** sum of observations, in the histogram's unit (seconds or rows) */
  sum: number;
  /** upper bound → observations ≤ it (cumulative); "+Inf" equals `count` */
  buckets: Record<string, number>;
}

/** causeway's own `get_metrics` figures: the same as `/metrics`, as JSON. */
export interface MetricsSnapshot {
  uptimeMs: number;
  commands: {
    /** admitted commands by type (their `accepted` row committed) */
    accepted: Record<string, number>;
    /** finished commands: type → outcome (`succeeded` | `failed` | `timed_out` | `interrupted`) → count */
    finished: Record<string, Record<string, number>>;
    /** failed commands: error code → count */
    failedByCode: Record<string, number>;
    inFlight: number;
    queued: number;
    running: number;
    pending: number;
  };
  latency: {
    /** admission (accepted) to finish, seconds */
    admissionToFinish: HistogramSnapshot;
    /** admission to handler start, seconds */
    queueWait: HistogramSnapshot;
  };
  lanes: { active: number; maxDepth: number; queued: number; running: number };
  journal: {
    commits: number;
    commitFailures: number;
    rows: number;
    lastSeq: number;
    healthy: boolean;
    /** commit duration, seconds */
    commitLatency: HistogramSnapshot;
    /** rows per commit */
    batchSize: HistogramSnapshot;
  };
  connections: { open: Record<string, number>; opened: Record<string, number> };
  /** duplicates answered from a stored outcome (`replay`) or attached to one in flight (`attach`), by type */
  replays: { replay: number; attach: number; byType: Record<string, number> };
  /** duplicates refused with replay_conflict, by type */
  conflicts: { total: number; byType: Record<string, number> };
  sessions: number;
}

/**
 * pi-server's `get_metrics` fields, sent beside causeway's own snapshot so that pi-server clients
 * find every key they read (src/operator/pi-metrics.ts fills them; PROTOCOL.md "get_metrics"
 * lists the value of each).
 */
export interface PiServerMetrics {
  sessionCount: number;
  connectionCount: number;
  pendingConnectionCount: number;
  totalCommandsExecuted: number;
  commandsRejected: { sessionLimit: number; messageSize: number; rateLimit: number; globalRateLimit: number; connectionLimit: number; extensionUIResponseRateLimit: number };
  zombieSessionsDetected: number;
  zombieSessionsCleaned: number;
  doubleUnregisterErrors: number;
  rateLimitUsage: { globalCount: number; globalLimit: number };
  stores: {
    replay: { inFlightCount: number; outcomeCount: number; idempotencyCacheSize: number; maxInFlightCommands: number; maxCommandOutcomes: number; inFlightRejections: number };
    version: { sessionCount: number };
    execution: { laneCount: number };
    lock: { activeLocks: number; timeoutCount: number; waitingCount: number; queueFullRejections: number };
    extensionUI: { pendingCount: number; maxPendingRequests: number; rejectedCount: number };
    sessionStore: { metadataResetCount: number };
    journal: Omit<JournalStatus, "initState"> & {
      appendFailurePolicy: "fail_closed";
      redaction: { beforePersistHookEnabled: boolean; beforeExportHookEnabled: boolean };
      entriesWritten: number;
      writeErrors: number;
      entriesScanned: number;
      malformedEntries: number;
      unsupportedVersionEntries: number;
      recoveredOutcomes: number;
      recoveredInFlightFailures: number;
      retention: { enabled: boolean; maxEntries?: number; maxAgeMs?: number; maxBytes?: number };
      compaction: { runs: number; droppedEntries: number; lastCompactionAt?: number; lastEntriesBefore: number; lastEntriesAfter: number; lastBytesBefore: number; lastBytesAfter: number };
    };
  };
  circuitBreakers: never[];
  bashCircuitBreaker: { enabled: false; globalState: "closed"; globalFailureCount: 0; sessionCount: 0; openSessionCount: 0; totalCalls: 0; totalTimeouts: 0; totalRejected: 0 };
  metrics: { counters: Record<string, number>; gauges: Record<string, number>; histograms: Record<string, unknown>; recentEvents: unknown[] };
}
