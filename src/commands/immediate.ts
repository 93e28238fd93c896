/**
 * Immediate commands: answered at once, outside lanes and the journal, with no lifecycle events.
 * They read committed or connection-local facts only, so they keep working while the journal is
 * unavailable. Each group lives in its own module; this file is the one list of them.
 */
import type { CausewayConfig } from "../config/defaults.js";
import type { Engine } from "../engine/engine.js";
import type { Store } from "../journal/types.js";
import { failure } from "../protocol/frames.js";
import type { CommandEnvelope, Outcome } from "../protocol/types.js";
import type { Connection } from "../transport/connection.js";
import { AUDIT_COMMANDS } from "./audit.js";
import type { AuditQueue } from "./audit-queue.js";
import { GOVERNANCE_COMMANDS } from "./governance.js";
import { HISTORY_COMMANDS } from "./history.js";
import { METRICS_COMMANDS } from "./metrics.js";
import { OBSERVE_COMMANDS } from "./observe.js";
import type { CommandRegistry, ImmediateSpec } from "./registry.js";

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
}

export interface ImmediateCommand extends ImmediateSpec {
  /** governance decisions answer once their transition row committed (a promise) */
  handle(conn: Connection, env: CommandEnvelope, services: ImmediateServices): Outcome | Promise<Outcome>;
}

const ALL: ImmediateCommand[] = [...OBSERVE_COMMANDS, ...HISTORY_COMMANDS, ...AUDIT_COMMANDS, ...METRICS_COMMANDS, ...GOVERNANCE_COMMANDS];
const handlers = new Map(ALL.map((c) => [c.type, c]));

export function registerImmediateCommands(registry: CommandRegistry): void {
  for (const { handle: _h, ...spec } of ALL) registry.registerImmediate(spec);
}

export function runImmediateCommand(conn: Connection, env: CommandEnvelope, services: ImmediateServices): Outcome | Promise<Outcome> {
  const c = handlers.get(env.type);
  if (!c) return failure(env.type, "unknown_command", `unknown command type "${env.type}"`);
  return c.handle(conn, env, services);
}
