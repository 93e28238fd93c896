/**
 * Wire types. The command envelope, response envelope and lifecycle events are
 * pi-server PROTOCOL 1.0.0 compatible; causeway adds fields, never removes them.
 */
import type { FailureCode } from "./errors.js";

export const PROTOCOL_VERSION = "1.0.0";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Fields every command may carry, whatever its type. */
export const ENVELOPE_FIELDS = [
  "type",
  "id",
  "sessionId",
  "dependsOn",
  "ifSessionVersion",
  "idempotencyKey",
  "timeoutMs",
  "tags",
  "notBefore",
  "supersedes",
] as const;

export interface CommandEnvelope {
  type: string;
  id?: string;
  sessionId?: string;
  dependsOn?: string[];
  ifSessionVersion?: number;
  idempotencyKey?: string;
  /** Client-requested timeout; capped by limits.maxTimeoutMs. Not part of the fingerprint. */
  timeoutMs?: number;
  /** governance: labels policy rules match on (e.g. "risk:high") */
  tags?: string[];
  /** governance: do not run before this epoch ms (the command is pending with reason "schedule") */
  notBefore?: number;
  /** governance: replace this pending command of the same session and type */
  supersedes?: string;
  [param: string]: unknown;
}

export interface ResponseFrame {
  type: "response";
  id?: string;
  command: string;
  success: boolean;
  data?: unknown;
  error?: string;
  code?: FailureCode;
  sessionVersion?: number;
  replayed?: boolean;
  timedOut?: boolean;
}

/** The stored, replayable part of a response: everything but `id` and `replayed`. */
export interface Outcome {
  command: string;
  success: boolean;
  data?: unknown;
  error?: string;
  code?: FailureCode;
  sessionVersion?: number;
  timedOut?: boolean;
}

export type LifecyclePhase = "command_accepted" | "command_started" | "command_finished";

export interface LifecycleEventData {
  commandId: string;
  commandType: string;
  sessionId?: string;
  /** always present, `[]` when none (as pi-server sends it) */
  dependsOn: string[];
  ifSessionVersion?: number;
  idempotencyKey?: string;
  success?: boolean;
  error?: string;
  code?: FailureCode;
  sessionVersion?: number;
  replayed?: boolean;
  timedOut?: boolean;
  laneKey: string;
  laneSequence: number;
  seq: number;
  recordedAt: number;
}

export interface LifecycleEvent {
  type: LifecyclePhase;
  data: LifecycleEventData;
}

export interface ServerLimits {
  maxFrameBytes: number;
  maxJsonDepth: number;
  maxIdLength: number;
  maxDependsOn: number;
  /** most envelope `tags` per command */
  maxTags: number;
  /** most commands pending approval or schedule at once */
  maxPending: number;
  /** most commands one actor may have pending approval or schedule at once */
  maxPendingPerActor: number;
  /** how far ahead of the server clock `notBefore` may lie */
  maxScheduleAheadMs: number;
  /** cap on a policy's approval window (`expiresInMs`) */
  maxApprovalWindowMs: number;
  /** restarts after which a `retryable` command still running at a crash is re-run no more */
  maxRecoveryAttempts: number;
  maxQueuePerLane: number;
  /** commands that may wait for a dependency in another lane, per lane (queued or pending) → busy */
  maxDependencyWaitersPerLane: number;
  maxInFlightPerConnection: number;
  maxSessions: number;
  maxTimeoutMs: number;
  maxOutboundBytes: number;
  /** outbound bytes queued over all WebSocket connections; above it the largest buffer is cut (1008) */
  maxOutboundBytesTotal: number;
  /** open WebSocket connections; further upgrades are refused with HTTP 503 */
  maxConnections: number;
  historyPageMax: number;
  /** largest session state after a write, serialized as JSON (UTF-8 bytes) → state_too_large */
  maxStateBytes: number;
  /** largest handler result (response `data`), serialized as JSON (UTF-8 bytes) → result_too_large */
  maxResultBytes: number;
}
