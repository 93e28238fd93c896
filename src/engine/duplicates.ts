/**
 * Duplicate submissions: a command whose `id` or `idempotencyKey` is already known.
 * - same fingerprint, original still in flight → attach; answered when the original is published;
 * - same fingerprint, original finished → a `replayed` row, then `command_finished replayed:true`
 *   and the stored outcome with the request's own id;
 * - different fingerprint → a `conflict` row, `command_rejected`, and `replay_conflict`.
 * Replays and conflicts are their own journal rows: the original outcome is never touched.
 */
import { failure } from "../protocol/frames.js";
import { conflictingReuse } from "../protocol/messages.js";
import { fingerprint } from "../protocol/fingerprint.js";
import type { CommandEnvelope } from "../protocol/types.js";
import type { Connection } from "../protocol/connection.js";
import type { Committer } from "./committer.js";
import type { EngineObserver } from "../observability/observer.js";
import type { Job } from "./job.js";
import type { FinishedRef } from "./jobs.js";
import type { Publisher } from "./publisher.js";
import { lifecycleEvent } from "./records.js";
import { journalUnavailable, type Responder } from "./responder.js";

export type MatchedBy = "id" | "idempotencyKey";

export interface DuplicateDeps {
  committer: Committer;
  publisher: Publisher;
  responder: Responder;
  maxInFlightPerConnection: number;
  now(): number;
  newCommandId(): string;
  observer: EngineObserver;
}

export class Duplicates {
  constructor(private readonly d: DuplicateDeps) {}

  inFlight(conn: Connection, env: CommandEnvelope, original: Job, fp: string, by: MatchedBy): void {
    if (original.fingerprint !== fp) return this.conflict(conn, env, original.id, original.type, original.lane, by);
    if (this.d.responder.inflight(conn) >= this.d.maxInFlightPerConnection) {
      this.d.responder.refuse(conn, env.id, failure(env.type, "busy", "too many commands in flight on this connection"));
      return;
    }
    this.d.responder.owe(conn);
    original.attached.push({ conn, replyId: env.id, by });
    this.d.observer.duplicate("attach", original.type);
  }

  stored(conn: Connection, env: CommandEnvelope, done: FinishedRef, fp: string, by: MatchedBy): void {
    if (done.fingerprint !== fp) return this.conflict(conn, env, done.commandId, done.type, done.lane, by);
    this.d.responder.owe(conn);
    this.d.observer.duplicate("replay", done.type);
    this.replay(conn, env.id, done, by);
  }

  /** Answer from the stored outcome. The caller has already taken a credit for `conn`. */
  replay(conn: Connection | null, replyId: string | undefined, done: FinishedRef, by: MatchedBy): void {
    const outcome = done.stored.outcome!;
    const commandId = replyId ?? this.d.newCommandId();
    const { sessionId, idempotencyKey } = done.stored;
    this.d.committer.append(
      {
        lane: done.lane,
        commandId,
        sessionId,
        phase: "replayed",
        recordedAt: this.d.now(),
        type: done.type,
        actor: conn?.actor ?? "system",
        fingerprint: done.fingerprint,
        outcome,
        detail: { replayOf: done.commandId, by },
      },
      {
        onCommit: (r) => {
          const ev = lifecycleEvent("command_finished", r, { type: done.type, sessionId, dependsOn: [], ifSessionVersion: undefined, idempotencyKey }, commandId, outcome, true);
          this.d.publisher.command(sessionId, conn?.actor ?? "system", ev, conn);
          this.d.responder.respond(conn, replyId, outcome, true);
        },
        onFail: () => this.d.responder.respond(conn, replyId, journalUnavailable(done.type)),
      },
    );
  }

  private conflict(conn: Connection, env: CommandEnvelope, originalId: string, originalType: string, lane: string, by: MatchedBy): void {
    const value = by === "id" ? originalId : (env.idempotencyKey as string);
    // pi-server's text (clients match on it); the fingerprint, not only the type, must match
    const outcome = failure(env.type, "replay_conflict", conflictingReuse(by, value, originalType, env.type));
    const commandId = env.id ?? this.d.newCommandId();
    this.d.responder.owe(conn);
    this.d.committer.append(
      {
        lane,
        commandId,
        sessionId: env.sessionId ?? null,
        phase: "conflict",
        recordedAt: this.d.now(),
        type: env.type,
        actor: conn.actor,
        fingerprint: fingerprint(env),
        outcome,
        detail: { conflictWith: originalId, by },
      },
      {
        onCommit: (r) => {
          this.d.observer.duplicate("conflict", env.type);
          const data = { commandId, commandType: env.type, code: "replay_conflict", error: outcome.error, conflictWith: originalId, laneKey: r.lane, laneSequence: r.laneSeq, seq: r.seq, recordedAt: r.recordedAt };
          this.d.publisher.command(env.sessionId ?? null, conn.actor, { type: "command_rejected", data }, conn);
          this.d.responder.respond(conn, env.id, outcome);
        },
        onFail: () => this.d.responder.respond(conn, env.id, journalUnavailable(env.type)),
      },
    );
  }
}
