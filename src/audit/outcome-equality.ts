/**
 * How re-execution compares a recorded value with the one the handler produces now (reexecute.ts):
 * JSON text, or in the fallbacks a deep comparison where
 *  - a session's two createdAt conventions (the create command's acceptedAt, and for journals
 *    written before the create effect carried it the finished row's recorded_at) count as the
 *    same instant, as epoch ms and as SessionInfo's ISO-8601 text;
 *  - arrays are compared without regard to order (the engine lists sessions in its in-memory
 *    order, which a restart resets to id order; the journal does not record it);
 *  - a recorded "[REDACTED]" (outcome data is redacted before persist) matches any value.
 */
import { isoTime } from "../commands/session-info.js";
import { REDACTED } from "../journal/redaction.js";
import { jsonText } from "./findings.js";
import type { SessionRec } from "./audit-sessions.js";

type Equal = (recorded: unknown, reexecuted: unknown) => boolean;

/** `sessions`: the audit's session table for the createdAt fallback, or null for none. */
export function outcomeEquality(sessions: Iterable<[string, SessionRec]> | null, redacted: boolean): Equal {
  if (sessions === null && !redacted) return (a, b) => jsonText(a) === jsonText(b);
  const alias = new Map<number | string, Set<number | string>>();
  const link = (x: number | string, y: number | string): void => {
    let set = alias.get(x);
    if (!set) alias.set(x, (set = new Set()));
    set.add(y);
  };
  for (const [, rec] of sessions ?? []) {
    if (rec.createdAt !== null && rec.createdAtCtx !== null && rec.createdAt !== rec.createdAtCtx) {
      for (const [x, y] of [[rec.createdAt, rec.createdAtCtx], [isoTime(rec.createdAt), isoTime(rec.createdAtCtx)]] as const) {
        link(x, y);
        link(y, x);
      }
    }
  }
  const unordered = sessions !== null;
  const eq = (a: unknown, b: unknown): boolean => {
    if (redacted && a === REDACTED) return true;
    if ((typeof a === "number" && typeof b === "number") || (typeof a === "string" && typeof b === "string")) return a === b || (alias.get(a)?.has(b) ?? false);
    if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return a === b;
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    if (unordered && Array.isArray(a) && Array.isArray(b)) {
      if (a.length !== b.length) return false;
      const sa = [...a].sort(byKey);
      const sb = [...b].sort(byKey);
      return sa.every((x, i) => eq(x, sb[i]));
    }
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    for (let i = 0; i < ka.length; i++) {
      if (ka[i] !== kb[i]) return false;
      if (!eq((a as Record<string, unknown>)[ka[i]!], (b as Record<string, unknown>)[kb[i]!])) return false;
    }
    return true;
  };
  return (a, b) => (a === undefined || b === undefined ? a === b : eq(JSON.parse(JSON.stringify(a)) as unknown, JSON.parse(JSON.stringify(b)) as unknown));
}

function sortKey(x: unknown): string {
  if (x !== null && typeof x === "object" && typeof (x as { sessionId?: unknown }).sessionId === "string") return (x as { sessionId: string }).sessionId;
  return JSON.stringify(x) ?? "";
}

function byKey(x: unknown, y: unknown): number {
  const a = sortKey(x);
  const b = sortKey(y);
  return a < b ? -1 : a > b ? 1 : 0;
}
