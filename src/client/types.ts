/**
 * Typed commands and responses for `causeway/client`. `CausewayCommands` maps a command type to its
 * params and its response `data`; add your own commands with declaration merging:
 *
 *   declare module "causeway/client" {
 *     interface CausewayCommands {
 *       increment: { params: { sessionId: string; by: number }; data: { count: number } };
 *     }
 *   }
 */
import type { GovernanceDetail, HistoryEntry, HistoryItem, HistoryPage, HistoryStatus } from "../protocol/command-history.js";
import type { HistogramSnapshot, JournalStatus, LaneInfo, MetricsSnapshot, PiServerMetrics, RecoverySummary, SessionInfo } from "../protocol/snapshots.js";
import type { FailureCode } from "../protocol/errors.js";
import type { CommandEnvelope, ENVELOPE_FIELDS } from "../protocol/types.js";

/**
 * Envelope fields every command may carry (PROTOCOL.md "Command envelope"); `send` generates `id`
 * and `idempotencyKey` when they are missing.
 */
export type Envelope = Pick<CommandEnvelope, Exclude<(typeof ENVELOPE_FIELDS)[number], "type">>;

/** SessionInfo (src/protocol/snapshots.ts): createdAt ISO-8601, createdAtMs epoch ms. */
export type { SessionInfo };

/** Every status `get_command_history` filters by (src/protocol/command-history.ts). */
export type { HistoryStatus };

/** `get_command` data's `governance` (src/protocol/command-history.ts). */
export type { GovernanceDetail };

/** One command of a `get_command_history` page. */
export type { HistoryItem };

/** `get_lanes` data: what the server reports per lane (src/protocol/snapshots.ts). */
export type { LaneInfo };

/** `get_metrics` data: pi-server's fields and the server's own snapshot (src/protocol/snapshots.ts). */
export type { HistogramSnapshot, PiServerMetrics };
export type MetricsData = PiServerMetrics & MetricsSnapshot;

export interface HealthData {
  healthy: boolean;
  issues: string[];
  /** pi-server: an LLM provider circuit is open (always false) */
  hasOpenCircuit: boolean;
  /** pi-server: the bash circuit breaker is open (always false) */
  hasOpenBashCircuit: boolean;
  serverVersion: string;
  protocolVersion: string;
  uptimeMs: number;
  sessions: number;
  lanes: number;
  inFlight: number;
  queued: number;
  running: number;
  pending: number;
  connections: number;
  journal: { store: string; durability: string; healthy: boolean; lastSeq: number; batches: number; records: number; failures: number; lastError: string | null };
}

type NoParams = Record<never, never>;

/** Built-in commands: params (besides the envelope) and response data. */
export interface CausewayCommands {
  create_session: { params: { sessionId?: string; state?: unknown }; data: { sessionId: string; sessionInfo: SessionInfo } };
  delete_session: { params: { sessionId: string }; data: { deleted: true; sessionId: string } };
  list_sessions: { params: NoParams; data: { sessions: SessionInfo[]; count: number } };
  get_state: { params: { sessionId: string }; data: { state: unknown } };
  set: { params: { sessionId: string; path: string; value: unknown }; data: { path: string } };
  patch: { params: { sessionId: string; ops: unknown[] }; data: { applied: number } };
  get_command_history: {
    params: {
      sessionIdFilter?: string;
      commandId?: string;
      fromTimestamp?: number;
      toTimestamp?: number;
      commandType?: string;
      status?: HistoryStatus;
      actor?: string;
      laneKey?: string;
      pendingReason?: "approval" | "schedule";
      approver?: string;
      tag?: string;
      order?: "newest" | "oldest";
      limit?: number;
      cursor?: string;
    };
    data: JournalStatus & {
      /** pi-server: the request's sessionIdFilter, commandId, fromTimestamp, toTimestamp */
      filters: { sessionIdFilter?: string; commandId?: string; fromTimestamp?: number; toTimestamp?: number };
      /** pi-server: the journal rows of this page's commands (at most `limit`), in page order */
      entries: HistoryEntry[];
      returned: number;
      truncated: boolean;
      maxItemsReturned: number;
      maxItemsAllowed: number;
    } & HistoryPage;
  };
  get_command: {
    params: { commandId: string };
    data: { found: boolean; commandId?: string; command?: Record<string, unknown>; trace?: Array<Record<string, unknown>>; dependencies?: unknown[]; dependents?: unknown[]; governance?: GovernanceDetail };
  };
  health_check: { params: NoParams; data: HealthData };
  get_metrics: { params: NoParams; data: MetricsData };
  get_lanes: { params: { limit?: number; queuedLimit?: number; laneKey?: string }; data: { lanes: LaneInfo[]; count: number; total: number; truncated: boolean; inFlight: number; pending: number; at: number } };
  get_startup_recovery: { params: NoParams; data: RecoverySummary };
  subscribe: { params: { scope?: "all" | "session"; fromSeq?: number }; data: Record<string, unknown> };
  unsubscribe: { params: NoParams; data: { subscriptions: { all: boolean; sessions: string[] } } };
  switch_session: { params: { sessionId: string }; data: { sessionInfo: SessionInfo } };
  audit_journal: { params: { fromSeq?: number; maxRows?: number; sessionId?: string }; data: Record<string, unknown> };
}

export type CommandType = keyof CausewayCommands;

/** A typed command: its `type`, the envelope, and its params. */
export type Command<T extends CommandType> = { type: T } & Envelope & CausewayCommands[T]["params"];

/** Any command, for types the client does not know (your own, untyped). */
export type AnyCommand = { type: string } & Envelope & Record<string, unknown>;

/** A command whose type is not in `CausewayCommands` (a known type must match its typed params). */
export type UntypedCommand<K extends string> = { type: K extends CommandType ? never : K } & Envelope & Record<string, unknown>;

interface ResponseBase {
  type: "response";
  /** always the request's id (generated by the client if the command had none) */
  id: string;
  command: string;
  sessionVersion?: number;
  /** a stored outcome, not a new execution (a retry or a re-send after a reconnect) */
  replayed?: boolean;
}

export interface SuccessResponse<D> extends ResponseBase {
  success: true;
  data: D;
}

export interface FailureResponse extends ResponseBase {
  success: false;
  error: string;
  code: FailureCode;
  timedOut?: boolean;
}

export type Response<D = unknown> = SuccessResponse<D> | FailureResponse;

/** A journaled lifecycle event (what `events()` yields), PROTOCOL.md "Lifecycle events". */
export interface LifecycleEvent {
  type: "command_accepted" | "command_started" | "command_finished" | "command_rejected" | "command_requeued";
  data: {
    commandId: string;
    commandType: string;
    sessionId?: string;
    laneKey: string;
    laneSequence: number;
    seq: number;
    recordedAt: number;
    success?: boolean;
    code?: FailureCode;
    error?: string;
    sessionVersion?: number;
    replayed?: boolean;
    timedOut?: boolean;
    [field: string]: unknown;
  };
}

/** `server_ready` data. */
export interface ServerInfo {
  serverVersion: string;
  protocolVersion: string;
  transports: string[];
  limits: Record<string, number>;
}
