/**
 * Outcome rules shared by the engine (live runs) and the audit (re-execution), so the two can
 * never disagree about what a successful handler run answers.
 */
import type { SessionEffect } from "../journal/types.js";

/**
 * The `sessionVersion` a successful server-scope command answers with (pi-server: a response
 * names the version of the session its command targets): create → 0; delete → none, the session
 * is gone; any other command with a target session → that session's current version; a command
 * with no target session → none.
 */
export function targetSessionVersion(targetSessionId: string | null, op: SessionEffect | undefined, current: (sessionId: string) => number | undefined): number | undefined {
  if (targetSessionId === null || op?.kind === "delete") return undefined;
  if (op?.kind === "create") return 0;
  return current(targetSessionId);
}
