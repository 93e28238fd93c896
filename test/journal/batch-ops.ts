/**
 * Random journal batches for the property tests (#17 batch folding, #18 Redis vs SQLite): mostly
 * legal command lives (governance phases, legacy rows without a revision, keys that expire within a
 * batch and are claimed again, sessions created, written and deleted) with some stale revisions,
 * illegal targets, duplicate ids, unknown commands, seq gaps and unknown phases mixed in.
 */
import fc from "fast-check";
import type { SqliteStore } from "../../src/journal/sqlite-store.js";
import type { JournalRecord, Store } from "../../src/journal/types.js";
import type { CommandStatus, JournalPhase, SessionEffect } from "../../src/lifecycle/status.js";
import { RecordBuilder, type Partial0 } from "./helpers.js";

export type Kind = "accept" | "dup" | "start" | "requeue" | "pending" | "approval" | "approved" | "released" | "renewed" | "finish" | "legacyStart" | "legacyFinish" | "replayed";
export interface Op {
  kind: Kind;
  pick: number;
  /** 0..39: 38 / 39 make the row wrong (stale revision, illegal target) */
  dev: number;
  sess: number;
  key: number;
  lag: number;
}
const KINDS: Kind[] = ["accept", "accept", "accept", "accept", "dup", "start", "start", "start", "requeue", "pending", "approval", "approved", "released", "renewed", "finish", "finish", "finish", "finish", "legacyStart", "legacyFinish", "replayed"];
export const opArb: fc.Arbitrary<Op> = fc.record({ kind: fc.constantFrom(...KINDS), pick: fc.nat(), dev: fc.nat(39), sess: fc.nat(2), key: fc.nat(5), lag: fc.nat(4) });

/** Phase, target status and the statuses it may leave, of each status change an op makes. */
const MOVES: Partial<Record<Kind, { phase: JournalPhase; to: CommandStatus; from: CommandStatus[] }>> = {
  start: { phase: "started", to: "running", from: ["queued", "approved"] },
  requeue: { phase: "requeued", to: "queued", from: ["running", "queued"] },
  pending: { phase: "pending", to: "pending", from: ["queued", "pending", "approved"] },
  approval: { phase: "approval", to: "pending", from: ["pending"] },
  approved: { phase: "approved", to: "approved", from: ["pending"] },
  released: { phase: "released", to: "queued", from: ["pending"] },
  renewed: { phase: "renewed", to: "pending", from: ["approved"] },
};
const FINISH_FROM: Partial<Record<CommandStatus, CommandStatus[]>> = {
  running: ["succeeded", "failed", "timed_out", "interrupted"],
  queued: ["cancelled", "failed", "timed_out", "interrupted"],
  pending: ["rejected", "cancelled", "expired", "superseded", "failed"],
  approved: ["cancelled", "failed"],
};

interface Cmd {
  status: CommandStatus;
  rev: number;
  sid: string;
}

/** The commands and sessions as a store holds them, advanced by the rows generated since (as if they apply). */
export class Model {
  readonly cmds = new Map<string, Cmd>();
  readonly sessions = new Map<string, { version: number; live: boolean }>();
  n = 0;

  constructor(private readonly b: RecordBuilder) {}

  load(s: SqliteStore): void {
    for (const [id, c] of this.cmds) {
      const got = s.getCommand(id);
      if (got) this.cmds.set(id, { status: got.status, rev: got.revision ?? 0, sid: c.sid });
      else this.cmds.delete(id);
    }
    this.sessions.clear();
    for (const r of s.database().prepare("SELECT session_id, version, deleted_at FROM sessions").all() as Array<{ session_id: string; version: number; deleted_at: number | null }>) {
      this.sessions.set(r.session_id, { version: r.version, live: r.deleted_at === null });
    }
  }

  /** A command the op may legally touch (rarely any, or one that does not exist); undefined: none fits. */
  target(op: Op, from: readonly CommandStatus[]): [string, Cmd | undefined] | undefined {
    const ids = [...this.cmds.keys()];
    if (op.dev === 36) return ["ghost", undefined];
    const pool = op.dev === 37 ? ids : ids.filter((id) => from.includes(this.cmds.get(id)!.status));
    if (pool.length === 0) return undefined;
    const id = pool[op.pick % pool.length]!;
    return [id, this.cmds.get(id)];
  }

  row(op: Op): JournalRecord {
    const b = this.b;
    if (op.kind === "accept" || op.kind === "dup") return this.accept(op);
    const move = MOVES[op.kind];
    const t = this.target(op, op.kind === "replayed" ? ["succeeded", "failed", "queued"] : (move?.from ?? (Object.keys(FINISH_FROM) as CommandStatus[])));
    if (!t) return this.accept(op); // nothing to change yet
    const [id, c] = t;
    if (op.kind === "replayed") return b.record("replayed", id, c?.sid ?? null, { outcome: { command: "t", success: true } });
    if (move) return this.move(op, id, c, move.phase, move.to);
    const choices = FINISH_FROM[c?.status ?? "running"] ?? ["failed"];
    const status = op.dev === 39 ? "queued" : choices[op.pick % choices.length]!;
    const effect = status === "succeeded" ? this.effect(op, c?.sid ?? "s0") : undefined;
    const extra: Partial0 = { status, outcome: { command: "t", success: status === "succeeded" }, ...(effect ? { effect } : {}) };
    if (op.key < 3) extra.idempotencyExpiresAt = b.clock + op.lag;
    if (op.kind === "finish") extra.revision = this.revision(op, c);
    if (c) {
      c.status = status as CommandStatus;
      c.rev += 1;
    }
    return b.record("finished", id, c?.sid ?? null, extra);
  }

  private accept(op: Op): JournalRecord {
    const ids = [...this.cmds.keys()];
    const id = op.kind === "dup" && op.dev < 15 && ids.length > 0 ? ids[op.pick % ids.length]! : `c${this.n++}`;
    const sid = `s${op.sess}`;
    const extra: Partial0 = { params: { id }, detail: op.dev < 8 ? { tags: [`t${op.dev % 3}`], notBefore: op.dev === 0 ? 5 : undefined } : null };
    // keys K0..K2 are shared (claimed again once expired, or refused while held), the rest unique
    if (op.key < 3) Object.assign(extra, { idempotencyKey: op.lag < 2 ? `K${op.key}` : `K-${id}`, idempotencyScope: `session:${sid}`, fingerprint: `fp-${id}` });
    if (ids.length > 0 && op.dev % 4 === 1) extra.dependsOn = [ids[op.pick % ids.length]!];
    if (op.dev === 35) extra.recordedAt = this.b.clock - 40; // a clock step back
    if (op.dev === 31) extra.recordedAt = this.b.clock + 40; // and forward (past keys expiring later in the batch)
    if (!this.cmds.has(id)) this.cmds.set(id, { status: "queued", rev: 0, sid });
    return this.b.record("accepted", id, sid, extra);
  }

  private move(op: Op, id: string, c: Cmd | undefined, phase: JournalPhase, to: CommandStatus): JournalRecord {
    const target = op.dev === 39 ? "succeeded" : to === "queued" && c?.status === "approved" ? "approved" : to;
    const legacy = op.kind === "start" && op.dev % 5 === 2;
    const extra: Partial0 = legacy ? {} : { status: target, revision: this.revision(op, c) };
    if (target === "pending") extra.detail = { reason: op.dev % 2 ? "schedule" : "approval", governance: { policyVersion: `p${op.dev % 3}`, expiresAt: this.b.clock + 500, steps: [] } };
    if (phase === "approval" || phase === "approved") extra.detail = { ...extra.detail, decision: { kind: "approve", actor: `u${op.dev % 2}`, step: 0 } };
    if (c) {
      c.status = target as CommandStatus;
      c.rev += 1;
    }
    return this.b.record(phase, id, c?.sid ?? null, extra);
  }

  private revision(op: Op, c: Cmd | undefined): number {
    const next = (c?.rev ?? 0) + 1;
    return op.dev === 38 ? next + (op.pick % 2 ? 1 : -1) : next;
  }

  private effect(op: Op, sid: string): SessionEffect | undefined {
    const s = this.sessions.get(sid);
    const kind = op.lag === 4 ? (s?.live ? "delete" : "create") : s?.live ? "write" : op.lag === 3 ? "create" : undefined;
    if (kind === undefined) return undefined;
    if (kind === "delete") {
      s!.live = false;
      return { kind, sessionId: sid };
    }
    const version = kind === "create" ? 1 : s!.version + (op.dev === 34 ? 0 : 1);
    this.sessions.set(sid, { version, live: true });
    return { kind, sessionId: sid, state: { by: op.pick % 100, version }, version };
  }
}

/** The batches of one run: each op list becomes one batch. */
export const batchesArb = fc.array(fc.array(opArb, { minLength: 1, maxLength: 14 }), { minLength: 1, maxLength: 10 });

/** One batch of `ops` (numbered by the model's builder); rarely a row the journal itself refuses: a seq gap, an unknown phase. */
export function buildBatch(model: Model, ops: Op[]): { built: JournalRecord[]; batch: JournalRecord[] } {
  const built = ops.map((op) => model.row(op));
  const batch = built.map((r, k) => (ops[k]!.dev !== 33 ? r : ops[k]!.pick % 2 ? { ...r, seq: r.seq + 1 } : { ...r, phase: "bogus" as JournalPhase }));
  return { built, batch };
}

/** Commit `records`: null when committed, else the refusal's message. */
export function attempt(s: Store, records: JournalRecord[]): string | null {
  try {
    s.commit(records);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
