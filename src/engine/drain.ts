/**
 * Shutdown: a drain waits until no command is in flight and the journal buffer is empty; pending
 * commands (approval, schedule) do not hold it up, they are durable and resume on restart. What
 * is still unfinished after the grace is abandoned: its timers stop and its handler is aborted;
 * startup recovery gives it a verdict on the next start.
 */
import { CausewayError } from "../protocol/errors.js";
import { abortJob, stopTimers } from "./job.js";
import type { EngineParts } from "./parts.js";

export class Drain {
  private waiters: Array<() => void> = [];

  constructor(
    private readonly p: EngineParts,
    /** commands pending approval or schedule */
    private readonly pendingCount: () => number,
  ) {}

  /** Resolves true when drained, false after `timeoutMs`. */
  wait(timeoutMs: number): Promise<boolean> {
    if (this.isDrained()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** A job's outcome went out (or failed closed): wake the waiters once everything is done. */
  check(): void {
    if (this.waiters.length === 0) return;
    if (this.busyJobs() !== 0) return;
    void this.p.committer.idle().then(() => {
      if (!this.isDrained()) return;
      const waiters = this.waiters.splice(0);
      for (const w of waiters) w();
    });
  }

  /** Stop timers of whatever is still in flight (after a drain timeout); recovery handles it on restart. */
  abandon(): void {
    for (const job of this.p.jobs.jobs()) {
      stopTimers(job);
      abortJob(job, new CausewayError("shutting_down", "server stopped"));
    }
  }

  private busyJobs(): number {
    return this.p.jobs.size - this.pendingCount();
  }

  private isDrained(): boolean {
    return this.busyJobs() === 0 && !this.p.committer.hasUncommitted();
  }
}
