/**
 * Retention on the Redis store: the SAME rule as SQLite's (retention.ts), planned on the projection
 * (a SqliteStore holding the same records), then carried out batch by batch. Each batch, in one
 * projection transaction:
 * 1. the projection is compacted to the batch's cut (retention.ts compactStep: checkpoint, rows,
 *    the finished commands whose idempotency key expired);
 * 2. the projection base as of the cut is read from it (checkpoint-base.ts);
 * 3. Redis runs the compaction script (compact-script.ts): it re-checks the batch, writes the
 *    checkpoint hash with the base, trims the stream and deletes the removed commands' keys.
 * A refusal (or an error) of step 3 rolls the projection's transaction back: the projection never
 * forgets what Redis still holds. The report is the one SQLite's compact() gives for the same records.
 */
import { compactStep, nextBatchCut, planCut, type CompactionReport, type RetentionPolicy } from "../retention.js";
import type { SqliteStore } from "../sqlite-store.js";
import { buildProjectionBase } from "./checkpoint-base.js";

/** Runs one batch in Redis: the cut, the time the plan used, the base (JSON), the removed command ids; throws on refusal. */
export type RedisCompactBatch = (cut: number, at: number, base: string, removed: string[]) => void;

export async function compactRedisJournal(
  projection: SqliteStore,
  policy: RetentionPolicy,
  now: () => number,
  inRedis: RedisCompactBatch,
  yieldFn: () => Promise<void> = () => new Promise((r) => setImmediate(r)),
): Promise<CompactionReport | null> {
  const db = projection.database();
  const cut = planCut(db, policy, now());
  if (cut === 0) return null;
  const report: CompactionReport = { cut, removedRows: 0, removedCommands: 0, batches: 0, checkpointSeq: null };
  for (;;) {
    const target = nextBatchCut(db, cut, policy.batchRows);
    if (target === null) return report;
    const at = now();
    const r = db
      .transaction(() => {
        const step = compactStep(db, target, () => at);
        inRedis(target, at, JSON.stringify(buildProjectionBase(db, target)), step.removed);
        return step;
      })
      .immediate();
    report.removedRows += r.rows;
    report.removedCommands += r.commands;
    report.batches++;
    report.checkpointSeq = target;
    await yieldFn();
  }
}
