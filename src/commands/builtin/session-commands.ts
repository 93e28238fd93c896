/**
 * Session lifecycle commands. create_session and delete_session run in the lane of the session
 * they name (`targetSession`), FIFO with that session's own commands; list_sessions runs in the
 * server lane.
 */
import { createHash } from "node:crypto";
import { defineCommand } from "../define.js";
import { sessionInfo } from "../session-info.js";

/** The id create_session picks when the client gives none: a function of the command id. */
export function generatedSessionId(commandId: string): string {
  return `s_${createHash("sha256").update(commandId).digest("base64url").slice(0, 16)}`;
}

export const createSession = defineCommand<{ sessionId?: string; state?: unknown }>({
  type: "create_session",
  scope: "server",
  effect: "write",
  deterministic: true,
  params: {
    type: "object",
    properties: {
      sessionId: { type: "string", minLength: 1, maxLength: 256, pattern: "^[A-Za-z0-9_.:@-]+$" },
      state: {},
    },
  },
  targetSession: { of: (p, commandId) => p.sessionId ?? generatedSessionId(commandId), mustExist: false },
  run(ctx, { sessionId, state }) {
    // a generated id is a function of the command id, so re-execution (audit) derives the same one
    const id = sessionId ?? generatedSessionId(ctx.commandId);
    const info = ctx.sessions.create(id, state ?? {});
    return { sessionId: id, sessionInfo: sessionInfo(info) };
  },
});

export const deleteSession = defineCommand<{ sessionId: string }>({
  type: "delete_session",
  scope: "server",
  effect: "write",
  deterministic: true,
  params: { type: "object", properties: { sessionId: { type: "string" } }, required: ["sessionId"] },
  targetSession: { of: (p) => p.sessionId, mustExist: true, ifSessionVersion: true },
  run(ctx, { sessionId }) {
    ctx.sessions.delete(sessionId);
    return { deleted: true, sessionId };
  },
});

export const listSessions = defineCommand({
  type: "list_sessions",
  scope: "server",
  effect: "read",
  deterministic: true,
  params: { type: "object", properties: {} },
  run(ctx) {
    const sessions = ctx.sessions.list().map(sessionInfo);
    return { sessions, count: sessions.length };
  },
});
