/**
 * Governance commands: approve_command, reject_command, cancel_command, list_pending.
 * Immediate: they act on another command through the engine (engine.decide), whose transitions are
 * journaled; the response is sent only after the transition row committed.
 */
import type { PendingReason } from "../lifecycle/status.js";
import { failure, success } from "../protocol/frames.js";
import type { OperatorCommand } from "./operator-command.js";

const id = { type: "string", minLength: 1, maxLength: 256 };
const text = { type: "string", minLength: 1, maxLength: 4096 };
const revision = { type: "integer", minimum: 0 };

/** Default page of list_pending (capped by limits.historyPageMax). */
export const DEFAULT_PENDING_LIMIT = 100;

export const GOVERNANCE_COMMANDS: OperatorCommand[] = [
  {
    type: "approve_command",
    sessionId: "none",
    params: { type: "object", properties: { commandId: id, comment: text, ifRevision: revision }, required: ["commandId"] },
    handle(call, s) {
      return s.engine.decide(call, { kind: "approve", commandId: call.env.commandId as string, comment: call.env.comment as string | undefined, ifRevision: call.env.ifRevision as number | undefined });
    },
  },
  {
    type: "reject_command",
    sessionId: "none",
    params: { type: "object", properties: { commandId: id, reason: text, ifRevision: revision }, required: ["commandId", "reason"] },
    handle(call, s) {
      return s.engine.decide(call, { kind: "reject", commandId: call.env.commandId as string, reason: call.env.reason as string, ifRevision: call.env.ifRevision as number | undefined });
    },
  },
  {
    type: "cancel_command",
    sessionId: "none",
    params: { type: "object", properties: { commandId: id, reason: text, ifRevision: revision }, required: ["commandId"] },
    handle(call, s) {
      return s.engine.decide(call, { kind: "cancel", commandId: call.env.commandId as string, reason: call.env.reason as string | undefined, ifRevision: call.env.ifRevision as number | undefined });
    },
  },
  {
    type: "list_pending",
    sessionId: "optional",
    params: {
      type: "object",
      properties: {
        reason: { enum: ["approval", "schedule", "dependency"] },
        commandType: { type: "string", minLength: 1, maxLength: 256 },
        actor: { type: "string", minLength: 1, maxLength: 256 },
        limit: { type: "integer", minimum: 1 },
      },
    },
    handle({ env }, s) {
      const max = s.config.limits.historyPageMax;
      const limit = (env.limit as number | undefined) ?? Math.min(DEFAULT_PENDING_LIMIT, max);
      if (limit > max) return failure(env.type, "invalid_command", `limit must be at most ${max} (historyPageMax)`);
      const page = s.engine.pendingList({
        sessionId: env.sessionId,
        reason: env.reason as PendingReason | undefined,
        type: env.commandType as string | undefined,
        actor: env.actor as string | undefined,
        limit,
      });
      return success(env.type, { pending: page.items, total: page.total, truncated: page.total > page.items.length });
    },
  },
];
