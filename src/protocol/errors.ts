/**
 * Every stable failure code of the protocol, in one place. PROTOCOL.md lists the same set;
 * test/protocol/docs.test.ts fails if the two drift apart.
 */
export const ERROR_CODES = [
  "invalid_command",
  "unknown_command",
  "session_not_found",
  "session_exists",
  "version_conflict",
  "replay_conflict",
  "dependency_unknown",
  "dependency_failed",
  "dependency_timeout",
  "dependency_cycle",
  "timeout",
  "busy",
  "limit_exceeded",
  "payload_too_large",
  "shutting_down",
  "handler_error",
  "patch_failed",
  "interrupted",
  "journal_unavailable",
  "forbidden",
  "history_compacted",
  "transition_conflict",
  "command_not_found",
  "supersede_mismatch",
  "rejected",
  "cancelled",
  "expired",
  "superseded",
  "state_too_large",
  "result_too_large",
  "not_owner",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * The codes of ERROR_CODES a handler may fail with (PROTOCOL.md, "Handler errors"): the ones the
 * built-in commands and the `ctx` API raise, plus `version_conflict` and `forbidden` for a
 * handler's own domain checks. Every other code of ERROR_CODES is the engine's own (reserved): it
 * describes something that happened around the handler (timeout, journal, lanes, replay,
 * governance), so a handler that throws one fails with `handler_error` instead. A command may
 * declare further codes of its own with `defineCommand({errorCodes})`.
 */
export const HANDLER_ERROR_CODES = [
  "invalid_command",
  "session_not_found",
  "session_exists",
  "version_conflict",
  "limit_exceeded",
  "handler_error",
  "patch_failed",
  "forbidden",
] as const satisfies readonly ErrorCode[];

/** A failure code on the wire: one of ERROR_CODES, or a code a command declared in `errorCodes`. */
export type FailureCode = ErrorCode | (string & {});

/**
 * A failure with a stable machine code. Handlers may throw it to choose the code: one of
 * HANDLER_ERROR_CODES or a code their command declared in `errorCodes` (others become handler_error).
 */
export class CausewayError extends Error {
  readonly code: FailureCode;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: FailureCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = "CausewayError";
    this.code = code;
    this.details = details;
  }
}

/**
 * A failure that carries its whole outcome (operator commands answer some failures with `data`,
 * e.g. `transition_conflict` with the target's current status and revision).
 */
export class OutcomeError extends CausewayError {
  readonly outcome: { command: string; success: false; code: ErrorCode; error: string; data?: unknown };
  constructor(outcome: { command: string; success: false; code: ErrorCode; error: string; data?: unknown }) {
    super(outcome.code, outcome.error);
    this.name = "OutcomeError";
    this.outcome = outcome;
  }
}

export function isCausewayError(err: unknown): err is CausewayError {
  return err instanceof CausewayError;
}
