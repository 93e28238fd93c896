/**
 * How a command's handler run becomes its terminal outcome and session effect: the one rule the
 * engine (live runs) and the audit (re-execution) both apply, so the two can never disagree about
 * what a run answers. Nothing else turns a handler's result or error into an outcome.
 *
 * - success: the output is checked and copied (output.ts: JSON-only, size limits); a session read
 *   answers the session's version, a session write the next version with a `write` effect; a
 *   server command answers the version of the session it targets (`targetSessionVersion`) with the
 *   session operation it staged as its effect;
 * - failure: the thrown error's code is kept or mapped (handler-codes.ts); an operator command's
 *   `OutcomeError` answers its whole outcome; a session command's failure names the session's
 *   current version;
 * - `PRECONDITION_CODES`: the failures the engine decides without running the handler.
 */
import { OutcomeError } from "../protocol/errors.js";
import { failure, success } from "../protocol/frames.js";
import type { Outcome } from "../protocol/types.js";
import { handlerFailure } from "./handler-codes.js";
import { takeOutput, type OutputLimits, type OutputShape, type RunLeftovers } from "./output.js";
import type { SessionEffect } from "./status.js";

/** Failure codes the engine gives a command without running its handler. */
export const PRECONDITION_CODES: ReadonlySet<string> = new Set<string>([
  "journal_unavailable",
  "interrupted",
  "timeout",
  "dependency_unknown",
  "dependency_failed",
  "dependency_timeout",
  "version_conflict",
  "session_not_found",
  // governance: decided without running
  "rejected",
  "cancelled",
  "expired",
  "superseded",
]);

/** The command whose run is settled: its definition's shape and the session it acts on. */
export interface SettleSubject extends OutputShape {
  type: string;
  /** codes the command declared (`defineCommand({errorCodes})`) */
  errorCodes?: readonly string[] | undefined;
  /** the session of its lane: a session command's session, a server command's target; else null */
  sessionId: string | null;
}

/** The current version of a session (undefined: it does not exist). */
export type VersionOf = (sessionId: string) => number | undefined;

export type Settled =
  /** next: a session write's new state and its JSON size (the effect holds the change) */
  | { status: "succeeded"; outcome: Outcome; effect: SessionEffect | undefined; next?: { state: unknown; bytes: number } }
  | { status: "failed"; outcome: Outcome; effect: undefined };

/**
 * The `sessionVersion` a successful server-scope command answers with (pi-server: a response
 * names the version of the session its command targets): create → 0; delete → none, the session
 * is gone; any other command with a target session → that session's current version; a command
 * with no target session → none.
 */
export function targetSessionVersion(targetSessionId: string | null, op: SessionEffect | undefined, current: VersionOf): number | undefined {
  if (targetSessionId === null || op?.kind === "delete") return undefined;
  if (op?.kind === "create") return 0;
  return current(targetSessionId);
}

/** A handler returned `data`: its outcome and effect (or its failure, if the output is refused). */
export function settleResult(cmd: SettleSubject, run: RunLeftovers, data: unknown, limits: OutputLimits, versionOf: VersionOf): Settled {
  let out;
  try {
    out = takeOutput(cmd, run, data, limits);
  } catch (err) {
    return settleError(cmd, err, versionOf);
  }
  if (cmd.scope === "session") {
    const sessionId = cmd.sessionId as string;
    const version = versionOf(sessionId) ?? 0;
    if (cmd.effect === "read") return { status: "succeeded", outcome: success(cmd.type, out.result, version), effect: undefined };
    const w = out.write!;
    const effect: SessionEffect = w.ops === null ? { kind: "write", sessionId, state: w.state, version: version + 1 } : { kind: "patch", sessionId, version: version + 1, ops: w.ops };
    return { status: "succeeded", outcome: success(cmd.type, out.result, version + 1), effect, next: { state: w.state, bytes: w.bytes } };
  }
  const version = targetSessionVersion(cmd.sessionId, out.sessionOp, versionOf);
  return { status: "succeeded", outcome: success(cmd.type, out.result, version), effect: out.sessionOp };
}

/** A handler threw `err` (or its output was refused): the failure it answers. */
export function settleError(cmd: SettleSubject, err: unknown, versionOf: VersionOf): Settled & { status: "failed" } {
  const version = failureVersion(cmd, versionOf);
  // operator commands answer some failures with their whole outcome (codes of the engine's own)
  if (err instanceof OutcomeError) return { status: "failed", outcome: { ...err.outcome, command: cmd.type, ...version }, effect: undefined };
  const { code, message } = handlerFailure(cmd.type, cmd.errorCodes, err);
  return { status: "failed", outcome: failure(cmd.type, code, message, version), effect: undefined };
}

/** A session command's failure names the session's current version; other failures name none. */
export function failureVersion(cmd: Pick<SettleSubject, "scope" | "sessionId">, versionOf: VersionOf): Partial<Outcome> {
  if (cmd.scope !== "session" || cmd.sessionId === null) return {};
  const v = versionOf(cmd.sessionId);
  return v === undefined ? {} : { sessionVersion: v };
}
