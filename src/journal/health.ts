/**
 * The one rule for "is the journal healthy", shared by `health_check`, `/readyz` and the
 * `causeway_journal_healthy` gauge: the store has not failed closed (its files deleted or replaced,
 * its lease lost) and the last group commit succeeded.
 */
import type { Store } from "./types.js";

/** What the engine's group committer knows (engine/committer.ts CommitterStats). */
export interface CommitHealth {
  degraded: boolean;
  lastError: string | null;
}

/** Why the journal is unhealthy, or null when it is healthy. */
export function journalProblem(commits: CommitHealth, store: Pick<Store, "stats">): string | null {
  const failure = store.stats().failure;
  if (failure) return failure;
  return commits.degraded ? `last commit failed (${commits.lastError})` : null;
}
