/**
 * How re-execution compares what the journal recorded with what the handler produces now
 * (reexecute.ts): the outcome's command, success, code, data and sessionVersion, the session effect
 * (kind, session, version, state as JSON), and how many recorded clock / random values the handler
 * consumed. Values are compared as JSON text, or in the fallbacks by a deep comparison where
 *  - a session's two createdAt conventions (the create command's acceptedAt, and for journals
 *    written before the create effect carried it the finished row's recorded_at) count as the
 *    same instant, as epoch ms and as SessionInfo's ISO-8601 text;
 *  - arrays are compared without regard to order (the engine lists sessions in its in-memory
 *    order, which a restart resets to id order; the journal does not record it);
 *  - a recorded "[REDACTED]" (outcome data is redacted before persist) matches any value.
 */
import { isStateWrite, stateAfter } from "../lifecycle/effects.js";
import type { SessionEffect } from "../lifecycle/status.js";
import { isoTime, upgradeLegacySessionInfo } from "../commands/session-info.js";
import { containsRedacted, REDACTED } from "../journal/redaction.js";
import { jsonText } from "./findings.js";
import type { SessionRec } from "./audit-sessions.js";
import { numbers, type Produced, type ReexecSubject } from "./handler-rerun.js";

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

/**
 * Differences between the recorded and the re-executed result (null: none). `sessions`: the audit's
 * session table for the createdAt fallback (which also reads SessionInfo as older journals recorded
 * it, createdAt in epoch ms), or null for the exact comparison.
 */
const sameKind = (a: SessionEffect, b: SessionEffect): boolean => a.kind === b.kind || (isStateWrite(a) && isStateWrite(b));

function after(e: Exclude<SessionEffect, { kind: "delete" }>, before: unknown): unknown {
  try {
    return stateAfter(e, before);
  } catch (err) {
    return { patchDoesNotApply: (err as Error).message, ops: e.kind === "patch" ? e.ops : null };
  }
}

export function outcomeDifferences(s: ReexecSubject, p: Produced, sessions: Iterable<[string, SessionRec]> | null): Record<string, unknown> | null {
  const o = s.finished.outcome!;
  const diff: Record<string, unknown> = {};
  const same = outcomeEquality(sessions, containsRedacted(o.data));
  if (o.command !== p.outcome.command) diff.command = { recorded: o.command, reexecuted: p.outcome.command };
  if (o.success !== p.outcome.success) diff.success = { recorded: o.success, reexecuted: p.outcome.success };
  if (o.code !== p.outcome.code) diff.code = { recorded: o.code ?? null, reexecuted: p.outcome.code ?? null };
  const recordedData = sessions !== null ? upgradeLegacySessionInfo(o.data) : o.data;
  if (!same(recordedData, p.outcome.data)) diff.data = { recorded: o.data ?? null, reexecuted: p.outcome.data ?? null };
  if (o.sessionVersion !== p.outcome.sessionVersion) diff.sessionVersion = { recorded: o.sessionVersion ?? null, reexecuted: p.outcome.sessionVersion ?? null };
  const re = s.finished.effect;
  const pe = p.effect;
  if (re === undefined || pe === undefined) {
    if (re !== pe) diff.effect = { recorded: re ?? null, reexecuted: pe ?? null };
  } else if (!sameKind(re, pe) || re.sessionId !== pe.sessionId || (re.kind !== "delete" && pe.kind !== "delete" && re.version !== pe.version)) {
    diff.effect = { recorded: re, reexecuted: pe };
  } else if (re.kind !== "delete" && pe.kind !== "delete") {
    // a write is journaled as a patch or (a snapshot) whole: compare the states they leave
    const recorded = after(re, p.before);
    const reexecuted = after(pe, p.before);
    if (jsonText(recorded) !== jsonText(reexecuted)) diff.state = { recorded, reexecuted };
  }
  const clock = numbers(s.finished.detail?.clock).length;
  const random = numbers(s.finished.detail?.random).length;
  if (p.outcome.success && (p.consumed.clock !== clock || p.consumed.random !== random)) {
    diff.recordedValues = { recorded: { clock, random }, consumed: p.consumed };
  }
  return Object.keys(diff).length === 0 ? null : diff;
}
