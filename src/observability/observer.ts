/**
 * The engine's measurement seam. The engine reports facts here after they are committed; metrics
 * (Prometheus, `get_metrics`) implement it. Every method is optional in effect: the default
 * observer does nothing, so the engine never depends on how figures are kept.
 */
import type { CommandStatus } from "../lifecycle/status.js";

export interface FinishedFact {
  /** the command's id (for the per-command finish log line) */
  commandId?: string;
  type: string;
  lane: string;
  status: CommandStatus;
  /** the outcome's error code, or null on success */
  code: string | null;
  acceptedAt: number;
  /** when its handler started, or null if it never started */
  startedAt: number | null;
  finishedAt: number;
}

export interface EngineObserver {
  /** a command was admitted (its `accepted` row committed) */
  accepted(type: string, lane: string): void;
  /** a command left its queue and its handler starts; `queueWaitMs` = start − accepted */
  started(type: string, lane: string, queueWaitMs: number): void;
  /** a terminal outcome was committed and published */
  finished(fact: FinishedFact): void;
  /** a duplicate submission: answered from a stored/in-flight outcome, or refused as a conflict */
  duplicate(kind: "replay" | "attach" | "conflict", type: string): void;
  /** one group-commit transaction: its size in rows and how long `store.commit` took */
  commit(rows: number, ms: number, ok: boolean): void;
}

export const NOOP_OBSERVER: EngineObserver = {
  accepted() {},
  started() {},
  finished() {},
  duplicate() {},
  commit() {},
};
