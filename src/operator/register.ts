/**
 * Operator commands: health, metrics, history, audit, subscriptions and governance decisions.
 * They walk the same path as every other command (admission with replay by id / idempotency key,
 * a lane, the journal, lifecycle events); they differ only in what their handler reads: engine,
 * store and connection facts instead of session state. Each group lives in its own module; this
 * file is the one list of them and the adapter that turns each into a command definition.
 *
 * They are not deterministic: each runs only after its own `started` row is committed, so a read
 * about commands sees every command its connection sent before it, at least as accepted.
 */
import { OutcomeError, type ErrorCode } from "../protocol/errors.js";
import type { CommandEnvelope } from "../protocol/types.js";
import type { Connection } from "../protocol/connection.js";
import { AUDIT_COMMANDS } from "./audit.js";
import { defineCommand, SUBMISSION, type CommandContext, type CommandDefinition, type Submission } from "../commands/define.js";
import { GOVERNANCE_COMMANDS } from "./decisions.js";
import { HISTORY_COMMANDS } from "./history.js";
import { METRICS_COMMANDS } from "./metrics.js";
import { OBSERVE_COMMANDS } from "./observe.js";
import type { CommandRegistry } from "../commands/registry.js";
import type { OperatorCall, OperatorCommand, OperatorServices } from "./operator-command.js";

const ALL: OperatorCommand[] = [...OBSERVE_COMMANDS, ...HISTORY_COMMANDS, ...AUDIT_COMMANDS, ...METRICS_COMMANDS, ...GOVERNANCE_COMMANDS];

/** The operator command types, in one list. */
export const OPERATOR_COMMAND_TYPES: readonly string[] = ALL.map((c) => c.type);

const unwired = (): OperatorServices => {
  throw new Error("operator commands are not wired to a running engine");
};

/** Register every operator command; `services` is read when a command runs (the engine exists by then). */
export function registerOperatorCommands(registry: CommandRegistry, services: () => OperatorServices = unwired): void {
  for (const c of ALL) registry.register(operatorDefinition(c, services));
}

function operatorDefinition(c: OperatorCommand, services: () => OperatorServices): CommandDefinition {
  return defineCommand({
    type: c.type,
    // a server command; switch_session names its session: it runs in that session's lane, which
    // must exist when it starts
    scope: "server",
    ...(c.sessionId === "required" ? { targetSession: { of: (p: { sessionId: string }) => p.sessionId, mustExist: true } } : {}),
    effect: "read",
    deterministic: false,
    ...(c.params ? { params: c.params } : {}),
    operator: {
      sessionId: c.sessionId,
      ...(c.afterResponse ? { afterResponse: (sub: Submission) => c.afterResponse!(callOf(sub), services()) } : {}),
    },
    async run(ctx: CommandContext) {
      const sub = (ctx as CommandContext & { [SUBMISSION]?: Submission })[SUBMISSION];
      if (!sub) throw new Error(`${c.type} ran without its submission`);
      const call = callOf(sub);
      const out = await c.handle(call, services());
      if (!out.success) throw new OutcomeError({ command: out.command, success: false, code: (out.code ?? "handler_error") as ErrorCode, error: out.error ?? "failed", ...(out.data !== undefined ? { data: out.data } : {}) });
      return out.data;
    },
  });
}

function callOf(sub: Submission): OperatorCall {
  return { commandId: sub.commandId, conn: sub.conn as Connection | null, env: sub.envelope as CommandEnvelope, actor: sub.actor, roles: sub.roles };
}
