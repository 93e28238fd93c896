/** Server-lane session commands: create_session, delete_session, list_sessions. */
import { createHash } from "node:crypto";
import { defineCommand } from "../define.js";

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
  run(ctx, { sessionId, state }) {
    // a generated id is a function of the command id, so re-execution (audit) derives the same one
    const id = sessionId ?? `s_${createHash("sha256").update(ctx.commandId).digest("base64url").slice(0, 16)}`;
    const info = ctx.sessions.create(id, state ?? {});
    return { sessionId: id, sessionInfo: info };
  },
});

export const deleteSession = defineCommand<{ sessionId: string }>({
  type: "delete_session",
  scope: "server",
  effect: "write",
  deterministic: true,
  params: { type: "object", properties: { sessionId: { type: "string" } }, required: ["sessionId"] },
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
    const sessions = ctx.sessions.list();
    return { sessions, count: sessions.length };
  },
});
