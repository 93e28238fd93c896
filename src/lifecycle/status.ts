/**
 * The vocabulary of a command's life, shared by every layer above: journal phases, command
 * statuses, pending reasons, the governance state a governed command carries, and the session
 * effect of a successful command. The transition table over these statuses is transitions.ts; how
 * a handler run becomes an outcome and an effect is settle.ts.
 */
import type { PatchOp } from "./state-change.js";

export type JournalPhase =
  /** admitted: carries the causal envelope; command status becomes `queued` */
  | "accepted"
  /** handler about to run; status `running` */
  | "started"
  /** terminal outcome; written exactly once per admitted command */
  | "finished"
  /** a duplicate id / idempotency key answered from the stored outcome (no effect on status) */
  | "replayed"
  /** a duplicate id / key with a different fingerprint was refused (no effect on status) */
  | "conflict"
  /** restart recovery re-queued an accepted (or retryable started) command; status `queued` */
  | "requeued"
  /** schema v5, governance: the command waits outside its lane (reason approval | schedule); status `pending` */
  | "pending"
  /** an approval vote was recorded; status stays `pending` (or becomes `approved` with the next row) */
  | "approval"
  /** the last required approval: status `approved`, the command joins its lane queue */
  | "approved"
  /** a scheduled command reached its `notBefore`: status `queued` */
  | "released"
  /** approved against an old session version with onStale "renew": back to `pending`, approvals cleared */
  | "renewed";

/** Every journal phase (the CHECK constraint of journal.phase since schema v5). */
export const JOURNAL_PHASES: readonly JournalPhase[] = ["accepted", "started", "finished", "replayed", "conflict", "requeued", "pending", "approval", "approved", "released", "renewed"];

/** Phases that change a command's status (each one edge of lifecycle/transitions.ts). */
export const TRANSITION_PHASES: readonly JournalPhase[] = ["started", "requeued", "finished", "pending", "approval", "approved", "released", "renewed"];

export type CommandStatus =
  | "queued"
  | "running"
  | "succeeded"
  | "failed"
  | "timed_out"
  | "interrupted"
  /** governance (schema v5) */
  | "pending"
  | "approved"
  | "rejected"
  | "cancelled"
  | "expired"
  | "superseded";

export const TERMINAL_STATUSES: readonly CommandStatus[] = ["succeeded", "failed", "timed_out", "interrupted", "rejected", "cancelled", "expired", "superseded"];
export const UNFINISHED_STATUSES: readonly CommandStatus[] = ["queued", "running", "pending", "approved"];
export type UnfinishedStatus = "queued" | "running" | "pending" | "approved";
export type PendingReason = "approval" | "schedule" | "dependency";

/** One approval stage of a governed command. */
export interface ApprovalStep {
  name: string;
  approvals: number;
  approverRoles: string[];
}

/** One recorded approval vote. */
export interface ApprovalVote {
  actor: string;
  at: number;
  step: number;
  comment?: string;
  revision: number;
}

/** What governs a command that needs approval; persisted with every governance transition. */
export interface GovernanceState {
  policyVersion: string;
  rules: string[];
  steps: ApprovalStep[];
  /** index of the open step */
  step: number;
  approvals: ApprovalVote[];
  allowRequester: boolean;
  expiresInMs: number;
  /** epoch ms the current approval round expires */
  expiresAt: number;
  onStale: "reject" | "renew" | "revalidate";
  /** the session version the approvals were given against (null for server-lane commands) */
  expectedVersion: number | null;
  renewals: number;
}

/**
 * What a successful command did to session state. Applied to the sessions table atomically.
 * A session write is journaled as a `patch` (its RFC 6902 operations on the previous version), or
 * as a `write` of the whole state: a snapshot, taken when the patches since the last whole state
 * would reach the state's own size (engine/session-table.ts), so any state is rebuilt from at most
 * about twice its size of journal. Journals from before issue #17 hold only `write`s.
 */
export type SessionEffect =
  /** createdAt: the create command's acceptedAt (absent in rows written before 2026-11; readers fall back to the row's recorded_at) */
  | { kind: "create"; sessionId: string; state: unknown; version: number; createdAt?: number }
  | { kind: "write"; sessionId: string; state: unknown; version: number }
  | { kind: "patch"; sessionId: string; version: number; ops: PatchOp[] }
  | { kind: "delete"; sessionId: string };


/** The phases governance adds (schema v5): a governed or scheduled command waiting, voted on, released. */
export const GOVERNANCE_PHASES: readonly JournalPhase[] = ["pending", "approval", "approved", "released", "renewed"];

const GOVERNANCE = new Set<JournalPhase>(GOVERNANCE_PHASES);

/** Is this one of the phases governance adds? The one list every reader of phases asks. */
export function isGovernancePhase(phase: JournalPhase): boolean {
  return GOVERNANCE.has(phase);
}
