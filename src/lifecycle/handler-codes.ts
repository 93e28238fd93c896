/**
 * Which failure code a handler's error becomes (PROTOCOL.md, "Handler errors"). One rule, used by
 * the engine (live runs) and the audit (re-execution), so both turn the same throw into the same
 * outcome:
 * - a CausewayError (this module's class, or one from another copy of the package: an Error named
 *   "CausewayError" with a string `code`) keeps its code if it is one of HANDLER_ERROR_CODES or one
 *   the command declared in `errorCodes`; any other code (a reserved engine code such as
 *   `journal_unavailable`, or an undeclared one) becomes `handler_error`, naming the code;
 * - an OutputRefused (the engine's own verdict on what the handler returned) keeps its code;
 * - anything else thrown is `handler_error` with the error's message.
 */
import { CausewayError, ERROR_CODES, HANDLER_ERROR_CODES, type FailureCode } from "../protocol/errors.js";

/** The engine's verdict on a handler's output (not JSON, too large): its code is never remapped. */
export class OutputRefused extends CausewayError {
  constructor(code: "handler_error" | "state_too_large" | "result_too_large", message: string) {
    super(code, message);
    this.name = "OutputRefused";
  }
}

const HANDLER_CODES = new Set<string>(HANDLER_ERROR_CODES);
/** codes of ERROR_CODES a handler may neither throw nor declare */
export const RESERVED_CODES: ReadonlySet<string> = new Set(ERROR_CODES.filter((c) => !HANDLER_CODES.has(c)));
/** a declared code: snake_case, 1–64 characters */
export const DECLARED_CODE_PATTERN = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

export interface HandlerFailure {
  code: FailureCode;
  message: string;
}

/** What a failed handler run answers, given what it threw and the codes its command declared. */
export function handlerFailure(type: string, declared: readonly string[] | undefined, err: unknown): HandlerFailure {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof OutputRefused) return { code: err.code, message };
  const code = thrownCode(err);
  if (code === undefined) return { code: "handler_error", message };
  if (HANDLER_CODES.has(code) || (declared !== undefined && declared.includes(code))) return { code, message };
  const why = RESERVED_CODES.has(code) ? "is reserved for the engine" : `is not declared in the errorCodes of ${type}`;
  return { code: "handler_error", message: `handler failed with code ${JSON.stringify(code)}, which ${why}: ${message}` };
}

/** The code of a thrown CausewayError (duck-typed: a command module may load its own copy of the class). */
function thrownCode(err: unknown): string | undefined {
  if (err instanceof CausewayError) return err.code;
  if (err instanceof Error && err.name === "CausewayError") {
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

/** Validates `defineCommand({errorCodes})`; returns a frozen copy. Throws TypeError naming the problem. */
export function checkDeclaredCodes(type: string, codes: unknown): readonly string[] | undefined {
  if (codes === undefined) return undefined;
  if (!Array.isArray(codes)) throw new TypeError(`command ${type}: errorCodes must be an array of strings`);
  for (const code of codes as unknown[]) {
    if (typeof code !== "string" || code.length > 64 || !DECLARED_CODE_PATTERN.test(code)) {
      throw new TypeError(`command ${type}: error code ${JSON.stringify(code)} must be snake_case (${DECLARED_CODE_PATTERN}, at most 64 characters)`);
    }
    if (RESERVED_CODES.has(code)) throw new TypeError(`command ${type}: error code ${JSON.stringify(code)} is reserved for the engine and cannot be declared`);
  }
  return Object.freeze([...(codes as string[])]);
}
