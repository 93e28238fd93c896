/**
 * Every stable failure code of the protocol, in one place. PROTOCOL.md lists the same set;
 * test/protocol/error-codes.test.ts fails if the two drift apart.
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
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** A failure with a stable machine code. Handlers may throw it to choose the code. */
export class CausewayError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
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
