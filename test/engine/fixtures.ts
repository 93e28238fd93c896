/**
 * Shared by the engine's per-rule unit tests (lanes, dependencies, committer, duplicates): a Job
 * with the fields the engine gives a fresh one, and a real SqliteStore holding finished commands.
 */
import type { Job } from "../../src/engine/job.js";
import { SqliteStore, type SqliteStoreOptions } from "../../src/journal/sqlite-store.js";
import type { Outcome } from "../../src/protocol/types.js";
import type { ConnectionHandler } from "../../src/protocol/connection.js";
import { FakeConnection } from "../helpers/inproc.js";
import { RecordBuilder } from "../journal/helpers.js";

/** A job as the engine admits it (status `queued`, accepted row durable); `init` overrides any field. */
export function testJob(init: Partial<Job> & { id: string; lane: string }): Job {
  const type = init.type ?? "set";
  return {
    explicitId: true,
    def: undefined,
    type,
    sessionId: init.lane.startsWith("session:") ? init.lane.slice("session:".length) : null,
    envelope: { type, id: init.id },
    params: {},
    fingerprint: `fp-${init.id}`,
    idempotencyKey: null,
    idempotencyScope: null,
    dependsOn: [],
    ifSessionVersion: undefined,
    actor: "local",
    roles: [],
    timeoutMs: 30_000,
    acceptedAt: 0,
    queuedAt: 0,
    tags: [],
    notBefore: null,
    conn: null,
    replyId: init.id,
    status: "queued",
    durableAccepted: true,
    started: false,
    responded: false,
    dependents: new Set(),
    attached: [],
    storeStatus: "queued",
    revision: 0,
    durableStatus: "queued",
    durableRevision: 0,
    ...init,
  };
}

/** An open SqliteStore (`:memory:` unless a path is given) and the numbering of what was committed to it. */
export class TestJournal {
  readonly store: SqliteStore;
  readonly records = new RecordBuilder();

  constructor(opts: Partial<SqliteStoreOptions> = {}) {
    this.store = new SqliteStore({ path: ":memory:", durability: "off", ...opts });
    this.store.open();
  }

  /** A command accepted, started and finished with `outcome`, committed in one transaction. */
  finished(commandId: string, sessionId: string | null, outcome: Outcome, fingerprint = `fp-${commandId}`): void {
    const b = this.records;
    const type = outcome.command;
    this.store.commit([
      b.record("accepted", commandId, sessionId, { type, fingerprint }),
      b.record("started", commandId, sessionId, { type, fingerprint }),
      b.record("finished", commandId, sessionId, { type, fingerprint, status: outcome.success ? "succeeded" : "failed", outcome }),
    ]);
  }

  /** Where a Committer over this store starts numbering (what `open()` would recover). */
  lastSeq(): number {
    return this.records.seq;
  }

  laneSeqs(): Array<{ lane: string; laneSeq: number }> {
    return [...this.records.laneSeqs].map(([lane, laneSeq]) => ({ lane, laneSeq }));
  }
}

const IGNORE: ConnectionHandler = { onOpen() {}, onFrame() {}, onInvalidUtf8() {}, onOversize() {}, onClose() {} };

/** A connection that records every frame sent to it (no dispatcher behind it). */
export function recordingConnection(): FakeConnection {
  return new FakeConnection(IGNORE);
}
