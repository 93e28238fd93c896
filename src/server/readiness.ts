/**
 * The one answer to "is this server ready": `/readyz` reports it, `health_check` answers it as
 * `healthy` + `issues`. Ready = the journal is open, startup recovery is done, the journal is
 * healthy (journal/health.ts: not failed closed, last commit succeeded) and commands are accepted.
 * `warnings` (both report them) do not make it unready: the operator chose them (a Redis store run
 * with `--redis-durability relaxed`).
 */
import type { Engine } from "../engine/engine.js";
import { journalProblem } from "../journal/health.js";
import type { Store } from "../journal/types.js";

export interface ReadinessChecks {
  journalOpen: boolean;
  recoveryDone: boolean;
  journalHealthy: boolean;
  acceptingCommands: boolean;
}

export interface Readiness {
  ready: boolean;
  checks: ReadinessChecks;
  /** one readable line per failed check */
  issues: string[];
  /** why the journal is unhealthy (null: healthy) */
  journalProblem: string | null;
  /** what does not make the server unready but an operator must know (a Redis store with relaxed durability) */
  warnings: string[];
}

export function readinessOf(engine: Engine, store: Pick<Store, "stats">, journalOpen: () => boolean, warnings: readonly string[] = []): () => Readiness {
  return () => {
    const problem = journalProblem(engine.stats().commits, store);
    const checks: ReadinessChecks = {
      journalOpen: journalOpen(),
      recoveryDone: engine.recovery() !== null,
      journalHealthy: problem === null,
      acceptingCommands: !engine.isShuttingDown(),
    };
    const issues: string[] = [];
    if (!checks.journalOpen) issues.push("journal: closed");
    if (problem !== null) issues.push(`journal: ${problem}`);
    if (!checks.recoveryDone) issues.push("startup recovery has not finished");
    if (!checks.acceptingCommands) issues.push("server is shutting down");
    return { ready: issues.length === 0, checks, issues, journalProblem: problem, warnings: [...warnings] };
  };
}
