/**
 * The shapes of the journal's read queries (history pages, their journal entries, command details):
 * what a store provider returns, free of any storage detail.
 */
import type { Outcome } from "../../protocol/types.js";
import type { CommandStatus, JournalPhase } from "../../lifecycle/status.js";

/** Status values accepted by the history filter (every command status). */
export const HISTORY_STATUSES = [
  "succeeded",
  "failed",
  "timed_out",
  "interrupted",
  "queued",
  "running",
  "pending",
  "approved",
  "rejected",
  "cancelled",
  "expired",
  "superseded",
] as const;
export type HistoryStatus = (typeof HISTORY_STATUSES)[number];

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

export interface HistoryItem {
  commandId: string;
  type: string;
  sessionId: string | null;
  laneKey: string;
  actor: string;
  status: CommandStatus;
  acceptedSeq: number;
  acceptedAt: number;
  finishedAt?: number;
  success?: boolean;
  code?: string;
  error?: string;
  sessionVersion?: number;
  idempotencyKey?: string;
  dependsOn?: string[];
}

export interface HistoryPage {
  items: HistoryItem[];
  nextCursor?: string;
  count: number;
}

export interface HistoryEntry {
  recordedAt: number;
  /** `command_accepted` | `command_started` | `command_finished`, or the journal phase name */
  phase: string;
  commandId: string;
  commandType: string;
  laneKey: string;
  laneSequence: number;
  fingerprint: string;
  explicitId: boolean;
  sessionId?: string;
  dependsOn?: string[];
  ifSessionVersion?: number;
  idempotencyKey?: string;
  success?: boolean;
  error?: string;
  sessionVersion?: number;
  replayed?: boolean;
  timedOut?: boolean;
  /** causeway: the row's global journal sequence */
  seq: number;
  /** causeway: the outcome's error code */
  code?: string;
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

export interface Decision {
  kind: string;
  actor: string;
  at: number;
  revision: number;
  step?: number;
  comment?: string;
  seq: number;
}

/** get_command's governance block (schema v5). */
export interface GovernanceDetail {
  revision: number;
  pendingReason: string | null;
  expiresAt: number | null;
  notBefore: number | null;
  tags: string[];
  policyVersion: string | null;
  /** requirements and approvals so far (governed commands), else null */
  state: Record<string, unknown> | null;
  /** every decision, oldest first: approve, approved, reject, cancel, expire, supersede, renew */
  decisions: Decision[];
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
