/**
 * The one rule for what a session effect leaves as the session's state, for every reader of the
 * journal (restart, retention checkpoints, the audit): `create` and `write` carry the whole state,
 * `patch` carries RFC 6902 operations on the state of the previous version (issue #17).
 */
import { applyOps } from "./state-change.js";
import type { SessionEffect } from "./status.js";

export type StateEffect = Extract<SessionEffect, { kind: "write" | "patch" }>;

/** A session write, whole (`write`) or as a change (`patch`). */
export function isStateWrite(e: SessionEffect): e is StateEffect {
  return e.kind === "write" || e.kind === "patch";
}

/** The state after `e` (`before`: the state of the previous version; a `patch` needs it). Throws if a patch does not apply. */
export function stateAfter(e: Exclude<SessionEffect, { kind: "delete" }>, before: unknown): unknown {
  return e.kind === "patch" ? applyOps(before, e.ops).state : e.state;
}
