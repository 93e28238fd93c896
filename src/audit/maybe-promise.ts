/**
 * A value now or later: the synchronous audit (audit_journal) never waits, the CLI audit awaits
 * handlers that return a promise. Both drive the same code through `chain`.
 */
export type MaybePromise<T> = T | Promise<T>;

export function chain<T, U>(value: MaybePromise<T>, next: (v: T) => MaybePromise<U>): MaybePromise<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}
