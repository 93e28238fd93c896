/** Builders for the history query tests: whole command lifecycles as journal records. */
import type { JournalRecord } from "../../src/journal/types.js";
import type { CommandStatus } from "../../src/lifecycle/status.js";
import type { Outcome } from "../../src/protocol/types.js";
import type { RecordBuilder } from "./helpers.js";

export interface Cmd {
  id: string;
  sessionId?: string | null;
  type?: string;
  actor?: string;
  /** terminal status, or queued / running */
  status?: CommandStatus;
  /** accepted time; default: the builder's clock */
  at?: number;
  dependsOn?: string[];
  idempotencyKey?: string;
  params?: Record<string, unknown>;
  outcome?: Outcome;
  lane?: string;
}

/** The records of one command's life: accepted, then started / finished as its status needs. */
export function lifecycle(b: RecordBuilder, c: Cmd): JournalRecord[] {
  const sessionId = c.sessionId === undefined ? "s1" : c.sessionId;
  const common = { type: c.type ?? "set", actor: c.actor ?? "local", ...(c.lane ? { lane: c.lane } : {}) };
  const status = c.status ?? "succeeded";
  const at = c.at ?? b.clock + 1;
  const out: JournalRecord[] = [
    b.record("accepted", c.id, sessionId, {
      ...common,
      recordedAt: at,
      explicitId: true,
      params: c.params ?? { path: "/a", value: 1 },
      dependsOn: c.dependsOn ?? null,
      idempotencyKey: c.idempotencyKey ?? null,
      idempotencyScope: c.idempotencyKey ? (sessionId ? `session:${sessionId}` : "server") : null,
      timeoutMs: 30_000,
    }),
  ];
  if (status === "queued") return out;
  if (status !== "timed_out") out.push(b.record("started", c.id, sessionId, { ...common, recordedAt: at + 1 }));
  if (status === "running") return out;
  const success = status === "succeeded";
  const outcome: Outcome =
    c.outcome ??
    (success
      ? { command: common.type, success: true, data: { big: "x".repeat(50) }, sessionVersion: 1 }
      : { command: common.type, success: false, error: `it ${status}`, code: status === "timed_out" ? "timeout" : "handler_error" });
  out.push(
    b.record("finished", c.id, sessionId, {
      ...common,
      recordedAt: at + 2,
      status,
      outcome,
      idempotencyExpiresAt: c.idempotencyKey ? at + 1_000_000 : null,
    }),
  );
  return out;
}
