/**
 * Journal rows and lifecycle events for a job. A lifecycle event is always built from the
 * committed row it describes, so its `seq` / `laneSequence` are the row's.
 */
import type { JournalRecord } from "../journal/types.js";
import { isGovernancePhase } from "../lifecycle/status.js";
import type { LifecycleEvent, LifecycleEventData, LifecyclePhase, Outcome } from "../protocol/types.js";
import type { NewRecord } from "./committer.js";
import type { Job } from "./job.js";

export function acceptedRecord(job: Job, now: number): NewRecord {
  return {
    lane: job.lane,
    commandId: job.id,
    sessionId: job.sessionId,
    phase: "accepted",
    recordedAt: now,
    type: job.type,
    actor: job.actor,
    fingerprint: job.fingerprint,
    explicitId: job.explicitId,
    idempotencyKey: job.idempotencyKey,
    idempotencyScope: job.idempotencyScope,
    dependsOn: job.dependsOn.length > 0 ? [...job.dependsOn] : null,
    ifSessionVersion: job.ifSessionVersion ?? null,
    params: job.params,
    timeoutMs: job.timeoutMs,
    detail: acceptedDetail(job),
  };
}

/** governance envelope fields, kept in the accepted row's detail (schema v5 materializes them) */
function acceptedDetail(job: Job): Record<string, unknown> | null {
  const d: Record<string, unknown> = {};
  if (job.tags.length > 0) d.tags = [...job.tags];
  if (job.notBefore !== null) d.notBefore = job.notBefore;
  if (typeof job.envelope.supersedes === "string") d.supersedes = job.envelope.supersedes;
  return Object.keys(d).length > 0 ? d : null;
}

export type PhaseRecordPhase = "started" | "requeued" | "pending" | "approval" | "approved" | "released" | "renewed";

export function phaseRecord(job: Job, phase: PhaseRecordPhase, now: number, detail?: Record<string, unknown>, actor?: string): NewRecord {
  return {
    lane: job.lane,
    commandId: job.id,
    sessionId: job.sessionId,
    phase,
    recordedAt: now,
    type: job.type,
    actor: actor ?? job.actor,
    fingerprint: job.fingerprint,
    detail: detail ?? null,
  };
}

/**
 * The governance event a committed row is published as:
 *  - pending  → `command_pending {commandId, reason, requirements, expiresAt, revision}`
 *  - approval → `command_approval {commandId, approver, step, approvals, revision}`
 *  - approved → `command_approved {commandId, revision}`
 *  - released → `command_released {commandId, revision}`
 *  - renewed  → `command_pending` again (approvals cleared, reason approval)
 */
export function governanceEvent(r: JournalRecord): { type: string; data: Record<string, unknown> } | undefined {
  const d = r.detail ?? {};
  const base: Record<string, unknown> = { commandId: r.commandId, commandType: r.type };
  if (r.sessionId !== null) base.sessionId = r.sessionId;
  const tail = { status: r.status, revision: r.revision, laneKey: r.lane, laneSequence: r.laneSeq, seq: r.seq, recordedAt: r.recordedAt };
  const gov = d.governance as { steps?: unknown; step?: number; approvals?: unknown[]; expiresAt?: number; policyVersion?: string; onStale?: string; allowRequester?: boolean } | undefined;
  const requirements = gov ? { steps: gov.steps, step: gov.step, approvals: gov.approvals?.length ?? 0, allowRequester: gov.allowRequester, onStale: gov.onStale, policyVersion: gov.policyVersion } : null;
  switch (r.phase) {
    case "pending":
    case "renewed":
      return { type: "command_pending", data: { ...base, reason: d.reason ?? "approval", requirements, expiresAt: gov?.expiresAt ?? null, notBefore: d.notBefore ?? null, ...tail } };
    case "approval": {
      const dec = d.decision as { actor?: string; step?: number; comment?: string } | undefined;
      return { type: "command_approval", data: { ...base, approver: dec?.actor ?? r.actor, step: dec?.step, comment: dec?.comment, approvals: gov?.approvals?.length ?? 0, requirements, ...tail } };
    }
    case "approved":
      return { type: "command_approved", data: { ...base, ...tail } };
    case "released":
      return { type: "command_released", data: { ...base, ...tail } };
    default:
      return undefined;
  }
}

export function finishedRecord(job: Job, now: number, idempotencyExpiresAt: number | null, detail?: Record<string, unknown>): NewRecord {
  const r: NewRecord = {
    lane: job.lane,
    commandId: job.id,
    sessionId: job.sessionId,
    phase: "finished",
    recordedAt: now,
    type: job.type,
    actor: job.actor,
    fingerprint: job.fingerprint,
    outcome: job.outcome!,
    status: job.finalStatus!,
    idempotencyExpiresAt: job.idempotencyKey ? idempotencyExpiresAt : null,
    detail: detail ?? null,
  };
  if (job.effect) r.effect = job.effect;
  return r;
}

/** pi-server lifecycle event data + causeway's laneKey / laneSequence / seq / recordedAt. */
export function lifecycleEvent(type: LifecyclePhase, record: JournalRecord, job: Pick<Job, "type" | "sessionId" | "dependsOn" | "ifSessionVersion" | "idempotencyKey">, commandId: string, outcome?: Outcome, replayed = false): LifecycleEvent {
  const data: LifecycleEventData = { commandId, commandType: job.type } as LifecycleEventData;
  if (job.sessionId !== null) data.sessionId = job.sessionId;
  data.dependsOn = [...job.dependsOn]; // always present, [] when none (as pi-server sends it)
  if (job.ifSessionVersion !== undefined) data.ifSessionVersion = job.ifSessionVersion;
  if (job.idempotencyKey) data.idempotencyKey = job.idempotencyKey;
  if (outcome) {
    data.success = outcome.success;
    if (outcome.error !== undefined) data.error = outcome.error;
    if (outcome.code !== undefined) data.code = outcome.code;
    if (outcome.sessionVersion !== undefined) data.sessionVersion = outcome.sessionVersion;
    if (outcome.timedOut) data.timedOut = true;
  }
  if (replayed) data.replayed = true;
  data.laneKey = record.lane;
  data.laneSequence = record.laneSeq;
  data.seq = record.seq;
  data.recordedAt = record.recordedAt;
  return { type, data };
}

export type CausalLookup = (commandId: string) => { dependsOn: string[]; ifSessionVersion: number | undefined; idempotencyKey: string | null } | undefined;

/**
 * The event a journal row was published as, rebuilt from the row (resumable subscriptions).
 * Returns undefined for rows that were never published as events.
 */
export function eventFromRecord(r: JournalRecord, lookup: CausalLookup): LifecycleEvent | { type: string; data: Record<string, unknown> } | undefined {
  if (isGovernancePhase(r.phase)) return governanceEvent(r);
  const replayOf = typeof r.detail?.replayOf === "string" ? r.detail.replayOf : undefined;
  const causal = lookup(replayOf ?? r.commandId) ?? { dependsOn: [], ifSessionVersion: undefined, idempotencyKey: null };
  const job = { type: r.type, sessionId: r.sessionId, ...causal };
  switch (r.phase) {
    case "accepted":
      return lifecycleEvent("command_accepted", r, job, r.commandId);
    case "started":
      return lifecycleEvent("command_started", r, job, r.commandId);
    case "finished":
      return lifecycleEvent("command_finished", r, job, r.commandId, r.outcome);
    case "replayed":
      return lifecycleEvent("command_finished", r, { ...job, dependsOn: [], ifSessionVersion: undefined }, r.commandId, r.outcome, true);
    case "conflict":
      return {
        type: "command_rejected",
        data: { commandId: r.commandId, commandType: r.type, code: "replay_conflict", error: r.outcome?.error, conflictWith: r.detail?.conflictWith, laneKey: r.lane, laneSequence: r.laneSeq, seq: r.seq, recordedAt: r.recordedAt },
      };
    case "requeued":
      return { type: "command_requeued", data: { commandId: r.commandId, commandType: r.type, ...(r.sessionId !== null ? { sessionId: r.sessionId } : {}), reason: r.detail?.reason, laneKey: r.lane, laneSequence: r.laneSeq, seq: r.seq, recordedAt: r.recordedAt } };
  }
}
