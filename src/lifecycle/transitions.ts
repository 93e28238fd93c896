/**
 * THE transition table. Every status change of a command, governed or not, is one of the edges
 * below; nothing else may set a status. The engine asks `assertTransition` before it appends a row,
 * and the SQLite store compiles the same table into its compare-and-swap UPDATEs
 * (`… WHERE revision = ? AND status IN (<allowed sources>)`), so the journal refuses an illegal or
 * stale transition even if a code path forgot to ask.
 *
 *   (admission)  → queued
 *   queued       → running (start) | pending (schedule) | cancelled | failed | timed_out | interrupted
 *                  | queued (requeue after restart)
 *   pending      → pending (an approval vote; renew; next reason) | approved | queued (schedule reached)
 *                  | rejected | cancelled | expired | superseded | failed | interrupted
 *   approved     → running (the claim) | pending (renew on stale) | cancelled | failed | timed_out
 *                  | interrupted | approved (requeue after restart)
 *   running      → succeeded | failed | timed_out | interrupted | queued | approved (requeue)
 *   succeeded, failed, timed_out, interrupted, rejected, cancelled, expired, superseded: terminal.
 */
import type { CommandStatus } from "./status.js";

export const TRANSITIONS: Readonly<Record<CommandStatus, readonly CommandStatus[]>> = {
  queued: ["running", "pending", "cancelled", "failed", "timed_out", "interrupted", "queued"],
  pending: ["pending", "approved", "queued", "rejected", "cancelled", "expired", "superseded", "failed", "interrupted"],
  approved: ["running", "pending", "cancelled", "failed", "timed_out", "interrupted", "approved"],
  running: ["succeeded", "failed", "timed_out", "interrupted", "queued", "approved"],
  succeeded: [],
  failed: [],
  timed_out: [],
  interrupted: [],
  rejected: [],
  cancelled: [],
  expired: [],
  superseded: [],
};

export function canTransition(from: CommandStatus, to: CommandStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The statuses a command may be in for a transition to `to` to be legal. */
export function sourcesOf(to: CommandStatus): CommandStatus[] {
  return (Object.keys(TRANSITIONS) as CommandStatus[]).filter((from) => TRANSITIONS[from].includes(to));
}

export class IllegalTransition extends Error {
  constructor(
    readonly commandId: string,
    readonly from: CommandStatus,
    readonly to: CommandStatus,
  ) {
    super(`command ${commandId}: ${from} → ${to} is not in the transition table`);
    this.name = "IllegalTransition";
  }
}

export function assertTransition(commandId: string, from: CommandStatus, to: CommandStatus): void {
  if (!canTransition(from, to)) throw new IllegalTransition(commandId, from, to);
}
