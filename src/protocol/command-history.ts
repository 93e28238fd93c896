/**
 * Wire shapes of `get_command_history` (pages of commands and pi-server's journal `entries`) and
 * of `get_command`'s governance block. The journal's queries build them; the client reads them.
 */
import type { FailureCode } from "./errors.js";

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

/** One command of a history page. */
export interface HistoryItem {
  commandId: string;
  type: string;
  sessionId: string | null;
  laneKey: string;
  actor: string;
  status: HistoryStatus;
  acceptedSeq: number;
  acceptedAt: number;
  finishedAt?: number;
  success?: boolean;
  code?: FailureCode;
  error?: string;
  sessionVersion?: number;
  idempotencyKey?: string;
  dependsOn?: string[];
}

/** One page of commands. */
export interface HistoryPage {
  items: HistoryItem[];
  nextCursor?: string;
  count: number;
}

/** pi-server's `get_command_history.entries`: one entry per journal row. */
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

/** One governance decision about a command. */
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
