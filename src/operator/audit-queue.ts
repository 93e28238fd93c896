/**
 * The server's online audits (audit_journal) run one at a time: each holds a read snapshot and up
 * to maxRows rows of checker state, so concurrent requests wait their turn instead of multiplying
 * memory. Shutdown waits for the queue (within the grace period) so that an audit in flight is
 * answered, like any other command in flight.
 */
export class AuditQueue {
  private tail: Promise<void> = Promise.resolve();
  private active = 0;
  private waiters: Array<() => void> = [];

  /** queued or running audits */
  get size(): number {
    return this.active;
  }

  run<T>(task: () => Promise<T>): Promise<T> {
    this.active++;
    const result = this.tail.then(task);
    this.tail = result.then(
      () => this.settled(),
      () => this.settled(),
    );
    return result;
  }

  /** Resolves true once no audit is queued or running, false after `timeoutMs`. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.active === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref?.();
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private settled(): void {
    if (--this.active > 0) return;
    for (const w of this.waiters.splice(0)) w();
  }
}
