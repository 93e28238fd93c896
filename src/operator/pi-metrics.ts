/**
 * pi-server's `get_metrics` fields, sent beside causeway's own snapshot so that
 * pi-server clients find every key they read. Figures causeway has are real; the ones about
 * pi-server's agent machinery (LLM circuit breakers, bash circuit breaker, extension UI, zombie
 * sessions, session locks, rate limits, connection limit) are neutral: zeros, empty arrays,
 * `enabled: false`. PROTOCOL.md ("get_metrics") lists the value of each.
 */
import { journalStatus } from "../journal/open.js";
import type { MetricsSnapshot, PiServerMetrics } from "../protocol/snapshots.js";
import type { OperatorServices } from "./operator-command.js";

const sum = (m: Record<string, number>): number => Object.values(m).reduce((a, b) => a + b, 0);

function journalStore(s: OperatorServices): PiServerMetrics["stores"]["journal"] {
  const { initState: _ready, ...status } = journalStatus(s.store);
  const c = s.config;
  const redacting = Object.keys(c.redact).length > 0;
  const committer = s.engine.stats().commits;
  const recovery = s.engine.recovery();
  const totals = s.compactor?.totals;
  return {
    ...status,
    appendFailurePolicy: "fail_closed",
    redaction: { beforePersistHookEnabled: redacting, beforeExportHookEnabled: redacting },
    entriesWritten: committer.records,
    writeErrors: committer.failures,
    entriesScanned: recovery?.entriesScanned ?? 0,
    malformedEntries: 0,
    unsupportedVersionEntries: 0,
    recoveredOutcomes: recovery?.recoveredOutcomes ?? 0,
    recoveredInFlightFailures: recovery?.recoveredInFlightFailures ?? 0,
    retention: {
      enabled: c.retentionMaxCommands > 0 || c.retentionMaxAgeMs > 0 || c.retentionMaxBytes > 0,
      ...(c.retentionMaxCommands > 0 ? { maxEntries: c.retentionMaxCommands } : {}),
      ...(c.retentionMaxAgeMs > 0 ? { maxAgeMs: c.retentionMaxAgeMs } : {}),
      ...(c.retentionMaxBytes > 0 ? { maxBytes: c.retentionMaxBytes } : {}),
    },
    compaction: {
      runs: totals?.runs ?? 0,
      droppedEntries: totals?.removedRows ?? 0,
      ...(totals?.lastAt != null ? { lastCompactionAt: totals.lastAt } : {}),
      lastEntriesBefore: 0,
      lastEntriesAfter: 0,
      lastBytesBefore: 0,
      lastBytesAfter: 0,
    },
  };
}

export function piServerMetrics(s: OperatorServices, snapshot: MetricsSnapshot): PiServerMetrics {
  const figures = s.engine.stats();
  const sessions = figures.sessions;
  const cache = figures.cache;
  const rejected = s.metrics?.rejections() ?? { sessionLimit: 0, messageSize: 0 };
  return {
    sessionCount: sessions,
    connectionCount: figures.connections,
    pendingConnectionCount: 0,
    totalCommandsExecuted: sum(snapshot.commands.accepted),
    commandsRejected: { ...rejected, rateLimit: 0, globalRateLimit: 0, connectionLimit: 0, extensionUIResponseRateLimit: 0 },
    zombieSessionsDetected: 0,
    zombieSessionsCleaned: 0,
    doubleUnregisterErrors: 0,
    rateLimitUsage: { globalCount: 0, globalLimit: 0 },
    stores: {
      replay: { inFlightCount: figures.inFlight, outcomeCount: cache.cachedOutcomes, idempotencyCacheSize: cache.keysInFlight, maxInFlightCommands: 0, maxCommandOutcomes: cache.cacheMax, inFlightRejections: 0 },
      version: { sessionCount: sessions },
      execution: { laneCount: figures.lanes },
      lock: { activeLocks: 0, timeoutCount: 0, waitingCount: 0, queueFullRejections: 0 },
      extensionUI: { pendingCount: 0, maxPendingRequests: 0, rejectedCount: 0 },
      sessionStore: { metadataResetCount: 0 },
      journal: journalStore(s),
    },
    circuitBreakers: [],
    bashCircuitBreaker: { enabled: false, globalState: "closed", globalFailureCount: 0, sessionCount: 0, openSessionCount: 0, totalCalls: 0, totalTimeouts: 0, totalRejected: 0 },
    metrics: { counters: {}, gauges: {}, histograms: {}, recentEvents: [] },
  };
}
