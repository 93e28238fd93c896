/**
 * Restart recovery classification: every command the journal holds without a terminal outcome
 * gets exactly one explicit, deterministic verdict (a pure function of the journal and config).
 * - accepted, never started → re-queued in its original lane order (or failed `interrupted` when
 *   failUnstartedOnRecovery is set);
 * - started, not finished → `interrupted` ("server stopped while the command was running"), unless
 *   its handler is declared `retryable`, then it is re-queued and runs again, at most
 *   `maxRecoveryAttempts` times: its journaled `started` rows count its runs, so a handler that
 *   hangs or takes the process down is not re-run on every restart forever;
 * - its command type is not registered on this server → `interrupted`, saying so;
 * - a command that would be re-queued but whose journaled params hold the redaction marker
 *   (redaction.ts) → `interrupted`: its original params are gone, and running it with
 *   "[REDACTED]" placeholders would do the wrong thing.
 */
import type { CommandRegistry } from "../commands/registry.js";
import type { JournalStatus, RecoveredInFlight, RecoveryBucket, RecoverySummary } from "../protocol/snapshots.js";
import { containsRedacted } from "../journal/redaction.js";
import type { RecoveredState, UnfinishedCommand } from "../journal/types.js";

export type { RecoverySummary };

export type VerdictKind = "requeue" | "interrupted" | "failed_unstarted" | "unregistered" | "pending";

export interface Verdict {
  kind: VerdictKind;
  command: UnfinishedCommand;
  reason: string;
}

export const RECOVERY_IDS_MAX = 100;

export const REASON_RUNNING = "server stopped while the command was running";
export const REASON_UNSTARTED = "server stopped before the command started; failed instead of re-queued (failUnstartedOnRecovery)";
export const REASON_RETRYABLE = "server stopped while the retryable command was running; running it again";
export function reasonAttemptsExhausted(starts: number, max: number): string {
  return `server stopped while the retryable command was running; it was started ${starts} times, and restart recovery already re-ran it ${starts - 1} times (maxRecoveryAttempts ${max}), so it is not run again`;
}
export const REASON_REDACTED = "server stopped before the command finished, and its journaled params are redacted; it cannot be re-run";

export function classifyRecovery(
  recovered: RecoveredState,
  opts: { registry: CommandRegistry; failUnstarted: boolean; maxRecoveryAttempts: number; now: number; journal: JournalStatus; sessions: number },
): { verdicts: Verdict[]; summary: RecoverySummary } {
  const verdicts: Verdict[] = [];
  for (const c of recovered.unfinished) {
    const def = opts.registry.get(c.type);
    if (!def) {
      verdicts.push({ kind: "unregistered", command: c, reason: `command type "${c.type}" is not registered on this server; it cannot be resumed` });
    } else if (c.status === "pending") {
      verdicts.push({ kind: "pending", command: c, reason: `still pending (${c.pendingReason ?? "approval"}); its timers are re-armed` });
      continue;
    } else if (c.status === "running") {
      verdicts.push(runningVerdict(c, def.retryable === true, opts.maxRecoveryAttempts));
    } else if (opts.failUnstarted) {
      verdicts.push({ kind: "failed_unstarted", command: c, reason: REASON_UNSTARTED });
    } else {
      verdicts.push({ kind: "requeue", command: c, reason: "server stopped before the command started; re-queued in its lane order" });
    }
    const last = verdicts[verdicts.length - 1]!;
    if (last.kind === "requeue" && containsRedacted(c.params)) verdicts[verdicts.length - 1] = { kind: "interrupted", command: c, reason: REASON_REDACTED };
  }
  const bucket = (kind: VerdictKind): RecoveryBucket => {
    const all = verdicts.filter((v) => v.kind === kind).map((v) => v.command.commandId);
    return { count: all.length, ids: all.slice(0, RECOVERY_IDS_MAX), truncated: all.length > RECOVERY_IDS_MAX };
  };
  const failed = verdicts.filter((v) => FAILED_KINDS.has(v.kind));
  return {
    verdicts,
    summary: {
      ...opts.journal,
      entriesScanned: recovered.unfinished.length,
      malformedEntries: 0,
      unsupportedVersionEntries: 0,
      recoveredOutcomes: 0,
      recoveredOutcomeIds: [],
      recoveredOutcomeIdsTruncated: false,
      recoveredInFlightFailures: failed.length,
      recoveredInFlight: failed.slice(0, RECOVERY_IDS_MAX).map(inFlightOf),
      recoveredInFlightTruncated: failed.length > RECOVERY_IDS_MAX,
      maxItemsReturned: RECOVERY_IDS_MAX,
      recoveredAt: opts.now,
      lastSeq: recovered.lastSeq,
      sessions: opts.sessions,
      unfinished: recovered.unfinished.length,
      requeued: bucket("requeue"),
      interrupted: bucket("interrupted"),
      failedUnstarted: bucket("failed_unstarted"),
      unregistered: bucket("unregistered"),
      pending: bucket("pending"),
    },
  };
}

/** A command that was running at the crash: re-run it (retryable, attempts left) or interrupt it. */
function runningVerdict(c: UnfinishedCommand, retryable: boolean, maxRecoveryAttempts: number): Verdict {
  if (!retryable) return { kind: "interrupted", command: c, reason: REASON_RUNNING };
  // this run crashed too; every run before it was a recovery re-run but the first
  const rerunsSoFar = Math.max(0, c.starts - 1);
  if (rerunsSoFar >= maxRecoveryAttempts) return { kind: "interrupted", command: c, reason: reasonAttemptsExhausted(c.starts, maxRecoveryAttempts) };
  return { kind: "requeue", command: c, reason: REASON_RETRYABLE };
}

/** Verdicts that give the command a failure outcome. */
const FAILED_KINDS = new Set<VerdictKind>(["interrupted", "failed_unstarted", "unregistered"]);

function inFlightOf(v: Verdict): RecoveredInFlight {
  const c = v.command;
  return { commandId: c.commandId, commandType: c.type, laneKey: c.lane, lastPhase: c.status === "running" ? "command_started" : "command_accepted", reason: v.reason };
}

/**
 * The startup_recovery_summary event's form (pi-server's default, includeSensitiveData false): no
 * journal path and no pi-server id lists; a `*Truncated` flag says a list was withheld.
 * get_startup_recovery answers the full summary.
 */
export function redactRecovery(s: RecoverySummary): RecoverySummary {
  return {
    ...s,
    journalPath: "[redacted]",
    recoveredOutcomeIds: [],
    recoveredOutcomeIdsTruncated: s.recoveredOutcomeIdsTruncated || s.recoveredOutcomes > 0,
    recoveredInFlight: [],
    recoveredInFlightTruncated: s.recoveredInFlightTruncated || s.recoveredInFlightFailures > 0,
  };
}
