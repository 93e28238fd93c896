/** The client's own failures (`ClientError`) and a command's failure seen through `call()` (`CommandFailedError`). */
import type { FailureResponse } from "./types.js";

export type ClientErrorCode = "timeout" | "aborted" | "closed" | "disconnected" | "connect_failed" | "invalid";

/** A failure of the client itself (not a command failure): the command may or may not have run. */
export class ClientError extends Error {
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    readonly id?: string,
    readonly idempotencyKey?: string,
  ) {
    super(message);
    this.name = "ClientError";
  }
}

/** `call()` got `success: false`. */
export class CommandFailedError extends Error {
  readonly code: string;
  constructor(readonly response: FailureResponse) {
    super(`${response.command} failed (${response.code}): ${response.error}`);
    this.name = "CommandFailedError";
    this.code = response.code;
  }
}
