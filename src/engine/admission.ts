/**
 * Admission of a validated envelope, in this order: the command type and the server state; the
 * policy gate (before replay: a refused actor gets no stored outcome either); replay by id or
 * idempotency key (duplicates.ts); limits (`busy`), dependency-wait bounds (dependency-limits.ts)
 * and the cycle check (dependencies.ts); the governor's admission (schedule, supersedes, pending
 * quotas). Then the `accepted` row is appended and the job either parks pending (pending.ts) or
 * joins its lane queue (runner.ts).
 */
import type { CommandDefinition } from "../commands/define.js";
import { failure } from "../protocol/frames.js";
import { fingerprint } from "../protocol/fingerprint.js";
import { unknownCommandType, validationFailed } from "../protocol/messages.js";
import { ENVELOPE_FIELDS, type CommandEnvelope, type Outcome } from "../protocol/types.js";
import type { Connection } from "../protocol/connection.js";
import { findCycle } from "./dependencies.js";
import type { Duplicates } from "./duplicates.js";
import { SERVER_LANE, sessionLane } from "./lanes.js";
import { makeJob, newCommandId } from "./make-job.js";
import type { EngineParts } from "./parts.js";
import type { PendingCommands } from "./pending.js";
import type { Publication } from "./publication.js";
import { acceptedRecord } from "./records.js";
import type { LaneRunner } from "./runner.js";
import type { Takeover } from "./takeover.js";

export interface AdmissionParts {
  duplicates: Duplicates;
  runner: LaneRunner;
  pending: PendingCommands;
  publication: Publication;
  /** on a journal shared by several nodes: whether this node may run a lane's command */
  takeover: Takeover | null;
  shuttingDown(): boolean;
}

/** A command type known and placed: its lane, its target session, its idempotency-key scope. */
interface Placed {
  def: CommandDefinition;
  id: string;
  params: Record<string, unknown>;
  /** the session it acts on (its lane); undefined in the server lane */
  target: string | undefined;
  lane: string;
  keyScope: string;
}

const ENVELOPE = new Set<string>(ENVELOPE_FIELDS);

export class Admitter {
  constructor(
    private readonly p: EngineParts,
    private readonly a: AdmissionParts,
  ) {}

  /** A validated envelope of a lane (journaled) command. */
  submit(conn: Connection, env: CommandEnvelope): void {
    const cmd = this.place(conn, env);
    if (!cmd) return;
    const notHere = this.a.takeover?.admit(env.type, cmd.lane);
    if (notHere) return this.refuse(conn, env, notHere);
    const fp = fingerprint(env);
    const now = this.p.now();
    const target = cmd.target ?? null;
    const gate = this.p.governor.gate(conn, env, target);
    if (!gate.ok) {
      this.p.log.info({ audit: "forbidden", actor: conn.actor, type: env.type, rule: gate.rule, commandId: env.id }, "command refused by policy");
      return this.refuse(conn, env, gate.outcome);
    }
    if (this.replayed(conn, env, fp, cmd.keyScope, now)) return;
    // a repeated dependency counts once
    const dependsOn = env.dependsOn === undefined ? [] : env.dependsOn.length > 1 ? [...new Set(env.dependsOn)] : env.dependsOn;
    const waits = this.withinLimits(conn, env, cmd, dependsOn);
    if (!waits) return;
    const admission = this.p.governor.admit(conn, env, target, gate.verdict, this.a.pending.set, this.p.now());
    if (!admission.ok) return this.refuse(conn, env, admission.outcome);
    const job = makeJob({
      id: cmd.id,
      explicitId: env.id !== undefined,
      def: cmd.def,
      type: cmd.def.type,
      lane: cmd.lane,
      sessionId: target,
      envelope: env,
      params: cmd.params,
      fingerprint: fp,
      idempotencyKey: env.idempotencyKey ?? null,
      idempotencyScope: env.idempotencyKey !== undefined ? cmd.keyScope : null,
      dependsOn,
      ifSessionVersion: env.ifSessionVersion,
      actor: conn.actor,
      roles: conn.roles,
      timeoutMs: this.timeoutFor(cmd.def, env),
      acceptedAt: now,
      queuedAt: now,
      tags: env.tags ?? [],
      notBefore: env.notBefore ?? null,
      conn,
      replyId: env.id,
    });
    this.p.jobs.add(job);
    if (waits.mayWait) this.p.dependencyLimits.track(job);
    this.p.responder.owe(conn);
    this.p.committer.append(acceptedRecord(job, now), {
      onCommit: (r) => {
        job.durableAccepted = true;
        this.p.observer.accepted(job.type, job.lane);
        this.a.publication.lifecycle("command_accepted", job, r);
      },
    });
    if (this.a.pending.afterAccept(job, admission)) return; // pending: outside its lane until released
    this.a.runner.enqueue(job, now);
  }

  /** Its definition, lane and target; null (refused) for an unknown type, during shutdown, or a misplaced ifSessionVersion. */
  private place(conn: Connection, env: CommandEnvelope): Placed | null {
    const def = this.p.registry.get(env.type);
    if (!def) {
      this.refuse(conn, env, failure(env.type, "unknown_command", unknownCommandType(env.type)));
      return null;
    }
    if (this.a.shuttingDown()) {
      this.refuse(conn, env, failure(env.type, "shutting_down", "the server is shutting down and accepts no new commands"));
      return null;
    }
    const id = env.id ?? newCommandId();
    const params = paramsOf(env, def);
    // the session a command acts on decides its lane; its idempotency keys are scoped by its kind
    // (session commands per session, server commands server-wide: pi-server PROTOCOL §8.2)
    const target = def.scope === "session" ? (env.sessionId as string) : def.targetSession?.of(params, id);
    const lane = target !== undefined ? sessionLane(target) : this.p.serverLane;
    const keyScope = def.scope === "session" ? lane : SERVER_LANE;
    if (env.ifSessionVersion !== undefined && def.scope !== "session" && def.targetSession?.ifSessionVersion !== true) {
      this.refuse(conn, env, failure(env.type, "invalid_command", validationFailed("ifSessionVersion: Only supported for session-targeted commands")));
      return null;
    }
    return { def, id, params, target, lane, keyScope };
  }

  /** A known id or idempotency key: attached to the original in flight, or answered from its stored outcome. */
  private replayed(conn: Connection, env: CommandEnvelope, fp: string, keyScope: string, now: number): boolean {
    const { jobs } = this.p;
    const duplicates = this.a.duplicates;
    if (env.id !== undefined) {
      const inflight = jobs.job(env.id);
      if (inflight) {
        duplicates.inFlight(conn, env, inflight, fp, "id");
        return true;
      }
      const known = jobs.knownInStore(env.id);
      const done = known ? jobs.finished(env.id) : undefined;
      if (done) {
        duplicates.stored(conn, env, done, fp, "id");
        return true;
      }
      if (known) {
        this.refuse(conn, env, failure(env.type, "journal_unavailable", `command ${env.id} is journaled but not in memory; retry shortly`));
        return true;
      }
    }
    if (env.idempotencyKey !== undefined) {
      const inflight = jobs.jobByKey(keyScope, env.idempotencyKey);
      if (inflight) {
        duplicates.inFlight(conn, env, inflight, fp, "idempotencyKey");
        return true;
      }
      const hit = this.p.store.getIdempotency(keyScope, env.idempotencyKey, now);
      const done = hit ? jobs.finished(hit.commandId) : undefined;
      if (done) {
        duplicates.stored(conn, env, done, fp, "idempotencyKey");
        return true;
      }
    }
    return false;
  }

  /** The in-flight and queue bounds, the dependency-wait bounds, the cycle check; null when refused. */
  private withinLimits(conn: Connection, env: CommandEnvelope, cmd: Placed, dependsOn: readonly string[]): { mayWait: boolean } | null {
    const { limits } = this.p.config;
    const refused = (outcome: Outcome): null => {
      this.refuse(conn, env, outcome);
      return null;
    };
    if (this.p.responder.inflight(conn) >= limits.maxInFlightPerConnection) {
      return refused(failure(env.type, "busy", `this connection already has ${limits.maxInFlightPerConnection} commands in flight (maxInFlightPerConnection)`));
    }
    if (this.p.lanes.queueLength(cmd.lane) >= limits.maxQueuePerLane) {
      return refused(failure(env.type, "busy", `lane ${cmd.lane} already holds ${limits.maxQueuePerLane} commands (maxQueuePerLane); retry later`));
    }
    const waits = this.p.dependencyLimits.check({ type: env.type, lane: cmd.lane, sessionId: cmd.target, dependsOn, actor: conn.actor, roles: conn.roles });
    if (waits.refusal) return refused(waits.refusal);
    if (env.id !== undefined) {
      const lanes = this.p.lanes;
      const cycle = findCycle(env.id, cmd.lane, dependsOn, lanes.get(cmd.lane)?.predecessorOf(null), this.p.jobs, (j) => lanes.get(j.lane)?.predecessorOf(j));
      if (cycle) return refused(failure(env.type, "dependency_cycle", `dependsOn would create a wait cycle: ${cycle.join(" → ")}`));
    }
    return { mayWait: waits.mayWait };
  }

  private refuse(conn: Connection, env: CommandEnvelope, outcome: Outcome): void {
    this.p.responder.refuse(conn, env.id, outcome);
  }

  private timeoutFor(def: CommandDefinition, env: CommandEnvelope): number {
    const requested = typeof env.timeoutMs === "number" ? env.timeoutMs : undefined;
    const ms = requested ?? this.p.config.timeouts[def.type] ?? def.timeoutMs ?? this.p.config.defaultTimeoutMs;
    return Math.min(ms, this.p.config.limits.maxTimeoutMs);
  }
}

/** The handler's params: every field that is not an envelope field (server commands keep `sessionId`). */
function paramsOf(env: CommandEnvelope, def: CommandDefinition): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  // for-in, not Object.entries (no array per command): a parsed frame has only own, enumerable keys
  for (const k in env) if (!ENVELOPE.has(k)) params[k] = (env as Record<string, unknown>)[k];
  if (def.scope === "server" && env.sessionId !== undefined) params.sessionId = env.sessionId;
  return params;
}
