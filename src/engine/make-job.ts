/**
 * Job construction: a new job from an admitted envelope (admission.ts), or one rebuilt from the
 * journal's unfinished command at startup (startup.ts). Every job is built by `makeJob`.
 */
import { randomUUID } from "node:crypto";
import type { CommandDefinition } from "../commands/define.js";
import type { UnfinishedCommand } from "../journal/types.js";
import type { CommandEnvelope } from "../protocol/types.js";
import type { Job } from "./job.js";

/** What a new job is made of; the engine's own fields start empty. */
export type JobInit = Omit<Job, "status" | "durableAccepted" | "started" | "responded" | "dependents" | "attached" | "storeStatus" | "revision" | "durableStatus" | "durableRevision">;

export function newCommandId(): string {
  return `cmd_${randomUUID()}`;
}

export function makeJob(init: JobInit): Job {
  // every field, optional ones included, in one fixed order: all jobs share one hidden class, so
  // the engine's property accesses stay monomorphic (fields added later in varying orders made
  // them polymorphic)
  return {
    id: init.id,
    explicitId: init.explicitId,
    def: init.def,
    type: init.type,
    lane: init.lane,
    sessionId: init.sessionId,
    envelope: init.envelope,
    params: init.params,
    fingerprint: init.fingerprint,
    idempotencyKey: init.idempotencyKey,
    idempotencyScope: init.idempotencyScope,
    dependsOn: init.dependsOn,
    ifSessionVersion: init.ifSessionVersion,
    actor: init.actor,
    roles: init.roles,
    timeoutMs: init.timeoutMs,
    acceptedAt: init.acceptedAt,
    queuedAt: init.queuedAt,
    tags: init.tags,
    notBefore: init.notBefore,
    conn: init.conn,
    replyId: init.replyId,
    status: "queued",
    durableAccepted: false,
    started: false,
    startedAt: undefined,
    outcome: undefined,
    finalStatus: undefined,
    effect: undefined,
    effectEntry: undefined,
    responded: false,
    controller: undefined,
    abortReason: undefined,
    deadlineTimer: undefined,
    waitTimer: undefined,
    waitingOn: undefined,
    dependents: new Set(),
    attached: [],
    generation: undefined,
    storeStatus: "queued",
    revision: 0,
    durableStatus: "queued",
    durableRevision: 0,
    pendingReason: undefined,
    governance: undefined,
    pendingTimer: undefined,
  };
}

/** An unfinished command of the journal, as a job again: its status and revision are the journal's. */
export function recoveredJob(u: UnfinishedCommand, def: CommandDefinition | undefined, defaultTimeoutMs: number): Job {
  const job = makeJob({
    id: u.commandId,
    explicitId: u.explicitId,
    def,
    type: u.type,
    lane: u.lane,
    sessionId: u.sessionId,
    envelope: rebuildEnvelope(u),
    params: (u.params ?? {}) as Record<string, unknown>,
    fingerprint: u.fingerprint ?? "",
    idempotencyKey: u.idempotencyKey,
    idempotencyScope: u.idempotencyScope,
    dependsOn: u.dependsOn ?? [],
    ifSessionVersion: u.ifSessionVersion ?? undefined,
    actor: u.actor,
    roles: [],
    timeoutMs: u.timeoutMs ?? defaultTimeoutMs,
    acceptedAt: u.acceptedAt,
    queuedAt: u.queuedAt ?? u.acceptedAt,
    tags: u.tags,
    notBefore: u.notBefore,
    conn: null,
    replyId: undefined,
  });
  job.durableAccepted = true;
  job.started = u.status === "running";
  job.storeStatus = job.durableStatus = u.status;
  job.revision = job.durableRevision = u.revision;
  if (u.governance) job.governance = u.governance;
  return job;
}

function rebuildEnvelope(u: UnfinishedCommand): CommandEnvelope {
  const env: CommandEnvelope = { type: u.type };
  if (u.explicitId) env.id = u.commandId;
  if (u.sessionId !== null) env.sessionId = u.sessionId;
  if (u.dependsOn && u.dependsOn.length > 0) env.dependsOn = u.dependsOn;
  if (u.ifSessionVersion !== null) env.ifSessionVersion = u.ifSessionVersion;
  if (u.idempotencyKey !== null) env.idempotencyKey = u.idempotencyKey;
  Object.assign(env, u.params ?? {});
  return env;
}
