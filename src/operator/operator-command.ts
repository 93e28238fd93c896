/**
 * What an operator command is, and what it may read: the engine, the store's query side, the
 * server's configuration and figures. The composition root (server/) provides the services.
 */
import type { CausewayConfig } from "../config/defaults.js";
import type { Engine } from "../engine/engine.js";
import type { Store } from "../journal/types.js";
import type { ParamsSchema } from "../commands/define.js";
import type { CommandEnvelope, Outcome } from "../protocol/types.js";
import type { Connection } from "../protocol/connection.js";
import type { AuditQueue } from "./audit-queue.js";

export interface OperatorServices {
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
  /** the server's readiness (server/readiness.ts): health_check's `healthy` and `issues` */
  readiness(): { ready: boolean; issues: string[]; journalProblem: string | null; warnings: string[] };
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

export interface OperatorCommand {
  type: string;
  params?: ParamsSchema;
  /** which envelope `sessionId` use: "none" (ignored), "optional", "required" (runs in that session's lane) */
  sessionId: "none" | "optional" | "required";
  handle(call: OperatorCall, services: OperatorServices): Outcome | Promise<Outcome>;
  /** after a successful response was sent to the caller */
  afterResponse?(call: OperatorCall, services: OperatorServices): void;
}

