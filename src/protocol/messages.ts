/**
 * Error texts a pi-server client may match on. pi-server 1.0.0 clients can tell failures apart
 * only by their text, so the cases both servers share use pi-server's exact wording; causeway's
 * stable `code` travels beside it. Every such text is built here and nowhere else.
 */

export const sessionNotFound = (sessionId: string): string => `Session ${sessionId} not found`;

export const sessionExists = (sessionId: string): string => `Session ${sessionId} already exists`;

export const versionMismatch = (expected: number, actual: number): string => `Session version mismatch: expected ${expected}, got ${actual}`;

export const conflictingReuse = (by: "id" | "idempotencyKey", value: string, originalType: string, type: string): string =>
  `Conflicting ${by} '${value}': previously used for '${originalType}', now used for '${type}'`;

export const unknownCommandType = (type: string): string => `Unknown command type: ${type}`;

export const validationFailed = (reason: string): string => `Validation failed: ${reason}`;

export const dependencyUnknown = (dep: string): string => `Dependency '${dep}' is unknown`;

export const dependencyFailed = (dep: string, error: string | undefined): string => `Dependency '${dep}' failed: ${error ?? "unknown error"}`;

export const dependencySameLane = (dep: string): string => `Dependency '${dep}' is queued in the same lane and cannot be awaited from this command`;

/** pi-server's timeout text; `when` says whether the command ever ran (the audit reads "before it started"). */
export const commandTimedOut = (type: string, ms: number, when: string): string => `Command '${type}' timed out after ${ms}ms ${when}`;

/** pi-server's text for a dependency that did not finish in time. */
export const dependencyTimedOut = (dep: string, ms: number): string => `Command 'dependsOn:${dep}' timed out after ${ms}ms`;

/** pi-server's text for an oversize frame. */
export const messageTooLarge = (bytes: number, limit: number): string => `Message size ${bytes} exceeds limit ${limit}`;
