/**
 * SessionInfo as the wire carries it (create_session, list_sessions, switch_session,
 * session_created): pi-server's `createdAt` is an ISO-8601 string (`Date.toISOString()`); causeway
 * keeps the epoch ms as `createdAtMs`. This is the one place that converts: the live handlers and
 * the audit's re-execution both go through it.
 */
import type { SessionInfo } from "../protocol/snapshots.js";

export type { SessionInfo };

/** What the session table knows about a session (createdAt in epoch ms). */
export interface SessionFacts {
  sessionId: string;
  sessionVersion: number;
  createdAt: number;
}

/** An epoch-ms instant as SessionInfo.createdAt writes it. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

export function sessionInfo(s: SessionFacts): SessionInfo {
  return { sessionId: s.sessionId, sessionVersion: s.sessionVersion, createdAt: isoTime(s.createdAt), createdAtMs: s.createdAt };
}

/** Journals written before issue #14 recorded SessionInfo as `{sessionId, sessionVersion, createdAt: <epoch ms>}`. */
function isLegacySessionInfo(v: Record<string, unknown>): v is Record<string, unknown> & SessionFacts {
  const keys = Object.keys(v);
  return keys.length === 3 && keys[0] === "sessionId" && keys[1] === "sessionVersion" && keys[2] === "createdAt" && typeof v.sessionId === "string" && typeof v.sessionVersion === "number" && typeof v.createdAt === "number";
}

/**
 * A recorded value with every legacy SessionInfo in it rewritten to today's form (the audit
 * compares old journals' outcomes with what the handlers produce now). Anything else is unchanged.
 */
export function upgradeLegacySessionInfo(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(upgradeLegacySessionInfo);
  if (v === null || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  if (isLegacySessionInfo(o)) return sessionInfo(o);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) out[k] = upgradeLegacySessionInfo(x);
  return out;
}
