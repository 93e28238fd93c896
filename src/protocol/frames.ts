/**
 * Serializers for everything the server writes to a connection. Field order is fixed so that a
 * replayed response is byte-identical to the original with `"replayed":true` appended.
 */
import type { FailureCode } from "./errors.js";
import type { LifecycleEvent, Outcome, ResponseFrame } from "./types.js";

export function responseFrame(id: string | undefined, outcome: Outcome, replayed = false): ResponseFrame {
  const frame: ResponseFrame = { type: "response" } as ResponseFrame;
  if (id !== undefined) frame.id = id;
  frame.command = outcome.command;
  frame.success = outcome.success;
  if (outcome.data !== undefined) frame.data = outcome.data;
  if (outcome.error !== undefined) frame.error = outcome.error;
  if (outcome.code !== undefined) frame.code = outcome.code;
  if (outcome.sessionVersion !== undefined) frame.sessionVersion = outcome.sessionVersion;
  if (outcome.timedOut !== undefined) frame.timedOut = outcome.timedOut;
  if (replayed) frame.replayed = true;
  return frame;
}

export function failure(command: string, code: FailureCode, error: string, extra?: Partial<Outcome>): Outcome {
  return { command, success: false, error, code, ...extra };
}

export function success(command: string, data: unknown, sessionVersion?: number): Outcome {
  const o: Outcome = { command, success: true };
  if (data !== undefined) o.data = data;
  if (sessionVersion !== undefined) o.sessionVersion = sessionVersion;
  return o;
}

export function serialize(frame: ResponseFrame | LifecycleEvent | { type: string; [k: string]: unknown }): string {
  return JSON.stringify(frame);
}
