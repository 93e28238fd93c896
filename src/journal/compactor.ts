/**
 * The background compactor: every `intervalMs`, plan a cut from the retention policy and remove
 * that journal prefix in bounded batches (see retention.ts). One run at a time; errors are logged
 * and retried on the next tick, never thrown into the server.
 */
import type { Logger } from "pino";
import type { JournalWriter } from "./types.js";
import { retentionEnabled, type CompactionReport, type RetentionPolicy } from "./retention.js";

export class Compactor {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<CompactionReport | null> | null = null;
  lastReport: CompactionReport | null = null;
  lastError: string | null = null;
  /** compactions that removed a prefix since start, the journal rows they removed, and when the last one ran */
  readonly totals = { runs: 0, removedRows: 0, lastAt: null as number | null };

  constructor(
    private readonly store: Pick<JournalWriter, "compact">,
    private readonly policy: RetentionPolicy,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    if (!retentionEnabled(this.policy) || this.timer) return;
    this.timer = setInterval(() => void this.runOnce(), this.policy.intervalMs);
    this.timer.unref();
  }

  /** Run one compaction now (also used by tests and `causeway compact`). */
  runOnce(): Promise<CompactionReport | null> {
    if (this.running) return this.running;
    const run = this.compactNow();
    this.running = run;
    // cleared only after the assignment above (the body may finish synchronously)
    void run.finally(() => {
      if (this.running === run) this.running = null;
    });
    return run;
  }

  private async compactNow(): Promise<CompactionReport | null> {
    try {
      const report = await this.store.compact(this.policy, this.now);
      if (!report) return null;
      this.lastReport = report;
      this.lastError = null;
      this.totals.runs++;
      this.totals.removedRows += report.removedRows;
      this.totals.lastAt = this.now();
      if (report.removedRows > 0) this.log.info({ compaction: report }, "journal compacted");
      return report;
    } catch (err) {
      this.lastError = err instanceof Error ? err.message : String(err);
      this.log.error({ err }, "journal compaction failed; will retry");
      return null;
    }
  }

  stop(): Promise<unknown> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return this.running ?? Promise.resolve();
  }
}
