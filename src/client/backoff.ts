/** Reconnect timing: exponential backoff with jitter, and a sleep that `close()` can cut short. */
import type { ReconnectOptions } from "./options.js";

export type Backoff = Required<ReconnectOptions>;

/** The backoff a `reconnect` option asks for; null: do not reconnect. */
export function resolveBackoff(r: boolean | ReconnectOptions): Backoff | null {
  return r === false ? null : { initialDelayMs: 100, maxDelayMs: 5_000, factor: 2, jitter: 0.2, maxAttempts: Number.POSITIVE_INFINITY, ...(r === true ? {} : r) };
}

/** The delay before reconnect attempt `attempt` (0 for the first after a drop), ms. */
export function backoffDelay(b: Backoff, attempt: number): number {
  const base = Math.min(b.maxDelayMs, b.initialDelayMs * b.factor ** attempt);
  return Math.max(0, base * (1 + b.jitter * (2 * Math.random() - 1)));
}

export const sleep = (ms: number, cancel: { cancel?: () => void }): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    cancel.cancel = () => {
      clearTimeout(t);
      resolve();
    };
  });
