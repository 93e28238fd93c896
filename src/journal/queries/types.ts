/**
 * The shapes of the journal's read queries (history pages, their journal entries, command details):
 * what a store provider returns, free of any storage detail.
 */
import type { Outcome } from "../../protocol/types.js";
import type { CommandStatus, JournalPhase } from "../../lifecycle/status.js";
import type { GovernanceDetail, HistoryEntry, HistoryStatus } from "../../protocol/command-history.js";

/** The wire shapes (protocol/command-history.ts) the queries build. */
export { HISTORY_STATUSES } from "../../protocol/command-history.js";
export type { Decision, GovernanceDetail, HistoryEntry, HistoryItem, HistoryPage, HistoryStatus } from "../../protocol/command-history.js";


export type HistoryOrder = "newest" | "oldest";

export interface HistoryFilters {
  /** pi-server `sessionIdFilter` */
  sessionId?: string;
  commandId?: string;
  /** inclusive lower bound on accepted time (epoch ms) */
  fromTimestamp?: number;
  /** inclusive upper bound on accepted time (epoch ms) */
  toTimestamp?: number;
  type?: string;
  status?: HistoryStatus;
  actor?: string;
  laneKey?: string;
  /** governance: status pending for this reason (approval | schedule) */
  pendingReason?: string;
  /** governance: commands this actor approved */
  approver?: string;
  /** governance: commands carrying this envelope tag */
  tag?: string;
}

export interface HistoryRequest extends HistoryFilters {
  order?: HistoryOrder;
  /** page size, ≥ 1 (the caller enforces the maximum) */
  limit: number;
  /** opaque cursor from a previous page's nextCursor */
  cursor?: string;
}

/** The entries of a page's commands; `more`: further matching rows of those commands were left out. */
export interface HistoryEntries {
  entries: HistoryEntry[];
  more: boolean;
}

export interface EntriesRequest {
  /** the page's commands */
  commandIds: string[];
  /** pi-server `sessionIdFilter`: the row's sessionId */
  sessionId?: string;
  /** inclusive bounds on the row's recordedAt (epoch ms) */
  fromTimestamp?: number;
  toTimestamp?: number;
  order: HistoryOrder;
  limit: number;
}

export interface TraceEntry {
  seq: number;
  laneSequence: number;
  phase: JournalPhase;
  recordedAt: number;
  /** only when the row is recorded under another id: a replay of this command by idempotencyKey */
  commandId?: string;
  detail?: Record<string, unknown>;
}

export interface CommandDetailCommand {
  commandId: string;
  type: string;
  sessionId: string | null;
  laneKey: string;
  actor: string;
  status: CommandStatus;
  explicitId: boolean;
  fingerprint: string | null;
  idempotencyKey?: string;
  acceptedSeq: number;
  acceptedAt: number;
  startedAt?: number;
  finishedSeq?: number;
  finishedAt?: number;
  /** effective timeout (ms) the command ran under */
  timeoutMs?: number;
  /** the envelope as journaled: params (already redacted) + causal fields */
  envelope: Record<string, unknown>;
  outcome?: Outcome;
}

export interface DependencyInfo {
  commandId: string;
  /** `unknown`: no command with this id was ever admitted */
  status: CommandStatus | "unknown";
  outcome?: Outcome;
}

export interface DependentInfo {
  commandId: string;
  status: CommandStatus;
}

export interface CommandDetail {
  governance: GovernanceDetail;
  command: CommandDetailCommand;
  trace: TraceEntry[];
  traceTruncated?: true;
  dependencies: DependencyInfo[];
  dependents: DependentInfo[];
  dependentsTruncated?: true;
}
