/**
 * The checks of one command's rows against what its earlier rows say (the checker feeds them):
 * - lifecycle_order: each status change is an edge of the transition table with the next revision;
 *   an outcome only the handler gives follows a started row;
 * - one_terminal_outcome: a finished row's status is the one its outcome implies;
 * - timeout_never_started: a command starts before its deadline, and what a timeout outcome says
 *   about the start matches the rows;
 * - dependencies_before_start: each dependency finished successfully before the command started.
 */
import type { JournalRecord } from "../journal/types.js";
import { PRECONDITION_CODES } from "../lifecycle/settle.js";
import { canTransition } from "../lifecycle/transitions.js";
import type { Outcome } from "../protocol/types.js";
import type { OpenCommand, Resolved } from "./command-index.js";
import type { Findings } from "./findings.js";

/**
 * Schema v5 rows carry the command's new status and revision: the edge must be in the transition
 * table and the revision one more than the last (rows of older journals carry neither).
 */
export function checkTransition(findings: Findings, r: JournalRecord, cmd: OpenCommand): void {
  if (typeof r.revision !== "number" || !r.status) return;
  const legal = canTransition(cmd.store, r.status) && r.revision === cmd.revision + 1;
  if (legal) findings.check("lifecycle_order");
  else findings.expect(false, "lifecycle_order", () => ({
    seq: r.seq,
    commandId: r.commandId,
    message: canTransition(cmd.store, r.status!)
      ? `${r.commandId}: ${r.phase} row has revision ${r.revision}, expected ${cmd.revision + 1}`
      : `${r.commandId}: ${cmd.store} → ${r.status} (${r.phase}) is not in the transition table`,
    evidence: { from: cmd.store, to: r.status, revision: r.revision, previousRevision: cmd.revision },
  }));
  cmd.store = r.status;
  cmd.revision = r.revision;
}

/** A started row: the command was queued (not started twice) and its deadline had not passed. */
export function checkStart(findings: Findings, r: JournalRecord, cmd: OpenCommand): void {
  if (cmd.status === "queued") findings.check("lifecycle_order");
  else findings.expect(false, "lifecycle_order", () => ({
    seq: r.seq,
    commandId: r.commandId,
    message: `${r.commandId} is started again (already started at seq ${String(cmd.startedSeq)}) without a requeued row in between`,
    evidence: { previousStartedSeq: cmd.startedSeq },
  }));
  const a = cmd.accepted;
  if (typeof a.timeoutMs !== "number") return;
  const deadline = cmd.queuedAt + a.timeoutMs;
  if (r.recordedAt <= deadline) findings.check("timeout_never_started");
  else findings.expect(false, "timeout_never_started", () => ({
    seq: r.seq,
    commandId: r.commandId,
    message: `${r.commandId} started ${r.recordedAt - deadline} ms after its deadline (acceptedAt ${a.recordedAt} + timeoutMs ${a.timeoutMs})`,
    evidence: { acceptedSeq: a.seq, acceptedAt: a.recordedAt, timeoutMs: a.timeoutMs, deadline, startedAt: r.recordedAt },
  }));
}

/**
 * dependencies_before_start for one dependency `dep` (resolved as `d`) of a started command. A
 * dependency unknown to an audit that starts from a checkpoint may be in the compacted prefix.
 */
export function checkDependency(findings: Findings, cmd: OpenCommand, dep: string, d: Resolved, started: JournalRecord, fromCheckpoint: boolean): void {
  if (d.kind === "unknown" && fromCheckpoint) {
    findings.cannotVerify("dependency_in_compacted_prefix");
    return;
  }
  if (d.kind === "done" && d.success && d.seq < started.seq) findings.check("dependencies_before_start");
  else findings.expect(false, "dependencies_before_start", () => ({
    seq: started.seq,
    commandId: started.commandId,
    message:
      d.kind === "unknown"
        ? `${started.commandId} started although its dependency ${dep} is not a known command`
        : d.kind === "open"
          ? `${started.commandId} started at seq ${started.seq} before its dependency ${dep} finished (${dep} is ${d.cmd.status})`
          : !d.success
            ? `${started.commandId} started although its dependency ${dep} did not succeed (finished at seq ${d.seq})`
            : `${started.commandId} started at seq ${started.seq}, before its dependency ${dep} finished at seq ${d.seq}`,
    evidence: { dependency: dep, dependsOn: cmd.accepted.dependsOn, startedSeq: started.seq, dependency_state: d.kind === "done" ? { finishedSeq: d.seq, success: d.success } : d.kind === "open" ? { status: d.cmd.status, acceptedSeq: d.cmd.accepted.seq } : "unknown" },
  }));
}

/** one_terminal_outcome: a finished row has an outcome, and the status that outcome implies. */
export function checkFinishedStatus(findings: Findings, r: JournalRecord): void {
  const o = r.outcome;
  if (!o) {
    findings.expect(false, "one_terminal_outcome", () => ({ seq: r.seq, commandId: r.commandId, message: `finished row of ${r.commandId} has no outcome`, evidence: { status: r.status ?? null } }));
    return;
  }
  const want = expectedStatus(o, r.detail);
  if (r.status === want) findings.check("one_terminal_outcome");
  else findings.expect(false, "one_terminal_outcome", () => ({
    seq: r.seq,
    commandId: r.commandId,
    message: `finished row of ${r.commandId} has status ${String(r.status)} but its outcome says ${want}`,
    evidence: { status: r.status ?? null, outcome: o },
  }));
}

/**
 * A finished row of an admitted command: an outcome only a handler gives (a success, or a failure
 * whose code is not a precondition's) needs a started row since the command was last queued; a
 * timeout outcome must say truly whether it started.
 */
export function checkOutcomeAgainstStart(findings: Findings, r: JournalRecord, o: Outcome, cmd: OpenCommand): void {
  const handlerOutcome = o.success || !PRECONDITION_CODES.has(o.code ?? "");
  if (handlerOutcome) {
    if (cmd.status === "running") findings.check("lifecycle_order");
    else findings.expect(false, "lifecycle_order", () => ({
      seq: r.seq,
      commandId: r.commandId,
      message: `${r.commandId} finished with a handler outcome (${o.success ? "success" : o.code}) but has no started row since it was ${cmd.startedSeq === null ? "accepted" : "requeued"}`,
      evidence: { acceptedSeq: cmd.accepted.seq, outcome: o },
    }));
  }
  if (o.timedOut) checkTimeoutClaim(findings, r, o, cmd);
}

/** timeout_never_started: what a timeout outcome says about the start must match the rows. */
function checkTimeoutClaim(findings: Findings, r: JournalRecord, o: Outcome, cmd: OpenCommand): void {
  const error = o.error ?? "";
  if (error.includes("before it started")) {
    if (cmd.status === "queued") findings.check("timeout_never_started");
    else findings.expect(false, "timeout_never_started", () => ({
      seq: r.seq,
      commandId: r.commandId,
      message: `${r.commandId} timed out "before it started" but has a started row (seq ${String(cmd.startedSeq)})`,
      evidence: { startedSeq: cmd.startedSeq, startedAt: cmd.startedAt, outcome: o },
    }));
  } else if (error.includes("while running")) {
    if (cmd.status === "running") findings.check("timeout_never_started");
    else findings.expect(false, "timeout_never_started", () => ({
      seq: r.seq,
      commandId: r.commandId,
      message: `${r.commandId} timed out "while running" but has no started row`,
      evidence: { outcome: o },
    }));
  }
}

/** The terminal status the engine gives an outcome (a handler may throw any code: then "failed"). */
function expectedStatus(o: Outcome, detail: Record<string, unknown> | null | undefined): string {
  if (o.success) return "succeeded";
  if (o.code === "timeout" && o.timedOut) return "timed_out";
  if (o.code === "interrupted" && detail?.recovery !== undefined) return "interrupted";
  if (o.code === "rejected" || o.code === "cancelled" || o.code === "expired" || o.code === "superseded") return o.code;
  return "failed";
}
