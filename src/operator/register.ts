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
import type { CausewayConfig } from "../config/defaults.js";
import type { Engine } from "../engine/engine.js";
import type { Store } from "../journal/types.js";
import { OutcomeError, type ErrorCode } from "../protocol/errors.js";
import type { CommandEnvelope, Outcome } from "../protocol/types.js";
import type { Connection } from "../protocol/connection.js";
import { AUDIT_COMMANDS } from "./audit.js";
import { defineCommand, SUBMISSION, type CommandContext, type CommandDefinition, type ParamsSchema, type Submission } from "../commands/define.js";
import type { AuditQueue } from "./audit-queue.js";
import { GOVERNANCE_COMMANDS } from "./decisions.js";
import { HISTORY_COMMANDS } from "./history.js";
import { METRICS_COMMANDS } from "./metrics.js";
import { OBSERVE_COMMANDS } from "./observe.js";
import type { CommandRegistry } from "../commands/registry.js";

export interface ImmediateServices {
  engine: Engine;
  store: Store;
  config: CausewayConfig;
  serverVersion: string;
  transports: string[];
  /** Prometheus + get_metrics figures (absent in bare test setups) */
  metrics?: import("../observability/metrics.js").Metrics;
  /** commands awaiting approval (governance); absent = 0 */
  pending?: () => number;
  /** online audits (audit_journal), one at a time; shutdown waits for them */
  audits: AuditQueue;
  /** the retention compactor (get_metrics: stores.journal.compaction); absent in bare test setups */
  compactor?: import("../journal/compactor.js").Compactor;
}

/** Who sent an operator command, and on which connection (null once the connection is gone). */
export interface OperatorCall {
  /** the operator command's own id (figures about the engine leave the asking command out) */
  commandId: string;
  conn: Connection | null;
  env: CommandEnvelope;
  actor: string;
  roles: readonly string[];
}

export interface ImmediateCommand {
  type: string;
  params?: ParamsSchema;
  /** which envelope `sessionId` use: "none" (ignored), "optional", "required" (runs in that session's lane) */
  sessionId: "none" | "optional" | "required";
  handle(call: OperatorCall, services: ImmediateServices): Outcome | Promise<Outcome>;
  /** after a successful response was sent to the caller */
  afterResponse?(call: OperatorCall, services: ImmediateServices): void;
}

const ALL: ImmediateCommand[] = [...OBSERVE_COMMANDS, ...HISTORY_COMMANDS, ...AUDIT_COMMANDS, ...METRICS_COMMANDS, ...GOVERNANCE_COMMANDS];

/** The operator command types, in one list. */
export const OPERATOR_COMMAND_TYPES: readonly string[] = ALL.map((c) => c.type);

const unwired = (): ImmediateServices => {
  throw new Error("operator commands are not wired to a running engine");
};

/** Register every operator command; `services` is read when a command runs (the engine exists by then). */
export function registerImmediateCommands(registry: CommandRegistry, services: () => ImmediateServices = unwired): void {
  for (const c of ALL) registry.register(operatorDefinition(c, services));
}

function operatorDefinition(c: ImmediateCommand, services: () => ImmediateServices): CommandDefinition {
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
