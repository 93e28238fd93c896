/**
 * The Level 5 reference model: a small, single-threaded, pure re-implementation of PROTOCOL.md's
 * semantics for the built-in commands (create_session, delete_session, list_sessions, get_state,
 * set, patch): lanes, dependsOn, ifSessionVersion, idempotency keys, replay by id and key.
 *
 * Concurrency across lanes is not deterministic, so the model takes the order the server reports
 * as given: it walks the journal rows in `seq` order (each lane's rows in `laneSequence` order)
 * and, at every row, decides what the protocol says must happen at that point:
 *
 * - `accepted`: the id was never admitted, its idempotency key is not live, it was really sent;
 * - `started`: it is the head of its lane (FIFO by admission, one at a time), every dependency
 *   finished successfully before, the session exists and is at `ifSessionVersion`, the deadline
 *   has not passed;
 * - `finished`: the outcome is exactly the one the model computes (precondition failure, or the
 *   command run against the model's own session state), and the model applies the effect;
 * - `replayed` / `conflict`: equal to the original's stored outcome / `replay_conflict`.
 *
 * Timeouts are taken as given (a timed-out command must not have started, or its effect is
 * discarded); `journal_unavailable` is given when journal faults are injected; `interrupted` when
 * the server was killed. Everything else is computed. Violations name the rule they break.
 */
import { DocError, applyPatch, canon, clone, equal, setAt, type J, type PatchOp } from "./json.js";
import type { Row, Send, Violation } from "./types.js";

export interface ModelOptions {
  /** journal commits may fail: `journal_unavailable` outcomes are given */
  journalFaults?: boolean;
  /** the server may have been killed: `interrupted` outcomes and `requeued` rows are given */
  crashes?: boolean;
  /** also model the test fixture `emit` (fixtures/commands/test-commands.mjs): a session read
   *  that answers {emitted:true} and sends a session event */
  fixtures?: boolean;
}

const SERVER_TYPES = new Set(["create_session", "delete_session", "list_sessions"]);
const SESSION_TYPES = new Set(["get_state", "set", "patch", "emit", "side_effect"]);
const WRITES = new Set(["set", "patch", "side_effect"]);
const FIXTURES = new Set(["emit", "side_effect"]);

interface Session {
  state: J;
  version: number;
  generation: number;
  createdAt: number;
}

export interface ModelCommand {
  id: string;
  type: string;
  lane: string;
  sessionId: string | null;
  params: Record<string, unknown>;
  dependsOn: string[];
  ifSessionVersion: number | undefined;
  key: string | undefined;
  /** canonical envelope minus id, idempotencyKey, timeoutMs: what the fingerprint covers */
  identity: string;
  acceptedSeq: number;
  acceptedAt: number;
  timeoutMs: number | null;
  started?: { seq: number; state: J; version: number; generation: number; versions?: Map<string, number> };
  finished?: { seq: number; outcome: Record<string, any> };
}

/** What a fingerprint covers: the envelope without `id`, `idempotencyKey` and `timeoutMs`. */
export function identityOf(env: Record<string, unknown>): string {
  const { id: _id, idempotencyKey: _k, timeoutMs: _t, ...rest } = env;
  return canon(rest);
}

export function laneOf(env: { type: string; sessionId?: unknown }): string {
  return SERVER_TYPES.has(env.type) ? "server" : `session:${String(env.sessionId)}`;
}

export class ReferenceModel {
  readonly violations: Violation[] = [];
  readonly commands = new Map<string, ModelCommand>();
  readonly sessions = new Map<string, Session>();
  /** outcomes taken as given rather than computed, by code */
  readonly given = new Map<string, number>();
  private readonly sendsById = new Map<string, Send[]>();
  private readonly laneQueues = new Map<string, ModelCommand[]>();
  private readonly laneSeqs = new Map<string, number>();
  private readonly keys = new Map<string, ModelCommand>();
  /** replayed / conflict rows by the id they answered */
  readonly replays = new Map<string, Row[]>();
  readonly conflicts = new Map<string, Row[]>();
  private generation = 0;
  private lastSeq = 0;
  rows = 0;

  constructor(private readonly opts: ModelOptions = {}) {}

  addSends(sends: Send[]): void {
    for (const s of sends) {
      let l = this.sendsById.get(s.env.id);
      if (!l) this.sendsById.set(s.env.id, (l = []));
      l.push(s);
    }
  }

  sendsFor(id: string): Send[] {
    return this.sendsById.get(id) ?? [];
  }

  /** The send an admitted command came from (one of the identical ones). */
  originalSend(id: string): Send | undefined {
    const c = this.commands.get(id);
    if (!c) return undefined;
    return this.sendsFor(id).find((s) => matchesAccepted(s, c));
  }

  private v(invariant: string, row: Row | undefined, message: string, commandId?: string): void {
    this.violations.push({ invariant, message, seq: row?.seq, commandId: commandId ?? row?.commandId });
  }

  private give(code: string): void {
    this.given.set(code, (this.given.get(code) ?? 0) + 1);
  }

  /** Feed journal rows in `seq` order (all rows after the last one ingested). */
  ingest(rows: Row[]): void {
    for (const r of rows) {
      this.rows++;
      if (r.seq !== this.lastSeq + 1) this.v("lane_seq_gap_free", r, `global seq ${r.seq} follows ${this.lastSeq}`);
      this.lastSeq = r.seq;
      const ls = this.laneSeqs.get(r.lane) ?? 0;
      if (r.laneSeq !== ls + 1) this.v("lane_seq_gap_free", r, `lane ${r.lane}: laneSequence ${r.laneSeq} follows ${ls}`);
      this.laneSeqs.set(r.lane, r.laneSeq);
      switch (r.phase) {
        case "accepted":
          this.accepted(r);
          break;
        case "started":
          this.startedRow(r);
          break;
        case "finished":
          this.finishedRow(r);
          break;
        case "replayed":
          this.replayed(r);
          break;
        case "conflict":
          this.conflict(r);
          break;
        case "requeued":
          this.requeued(r);
          break;
        default:
          this.v("journal_phase", r, `unknown phase ${String((r as Row).phase)}`);
      }
    }
  }

  // ------------------------------------------------------------------ rows

  private accepted(r: Row): void {
    if (this.commands.has(r.commandId)) return this.v("one_admission_per_id", r, `id admitted twice (first at seq ${this.commands.get(r.commandId)!.acceptedSeq}); a duplicate id must replay or conflict`);
    const params = (r.params ?? {}) as Record<string, unknown>;
    const env: Record<string, unknown> = { type: r.type, ...params };
    if (SESSION_TYPES.has(r.type)) env.sessionId = r.sessionId;
    if (r.dependsOn && r.dependsOn.length > 0) env.dependsOn = r.dependsOn;
    if (r.ifSessionVersion !== null) env.ifSessionVersion = r.ifSessionVersion;
    const c: ModelCommand = {
      id: r.commandId,
      type: r.type,
      lane: r.lane,
      sessionId: SESSION_TYPES.has(r.type) ? r.sessionId : null,
      params,
      dependsOn: r.dependsOn ?? [],
      ifSessionVersion: r.ifSessionVersion ?? undefined,
      key: r.idempotencyKey ?? undefined,
      identity: identityOf(env),
      acceptedSeq: r.seq,
      acceptedAt: r.recordedAt,
      timeoutMs: r.timeoutMs,
    };
    this.commands.set(c.id, c);
    if ((!SERVER_TYPES.has(r.type) && !SESSION_TYPES.has(r.type)) || (FIXTURES.has(r.type) && !this.opts.fixtures)) this.v("known_command", r, `type ${r.type} is not a built-in command`);
    if (r.lane !== laneOf(env as { type: string; sessionId?: unknown })) this.v("lane_of_command", r, `admitted in lane ${r.lane}, expected ${laneOf(env as { type: string })}`);
    const sends = this.sendsFor(c.id);
    if (sends.length > 0 && !sends.some((s) => matchesAccepted(s, c))) this.v("admitted_as_sent", r, `the accepted envelope matches none of the ${sends.length} frames sent with this id`);
    if (sends.length === 0) this.v("admitted_as_sent", r, "admitted a command id no client sent");
    if (c.dependsOn.includes(c.id)) this.v("dependency_cycle_refused", r, "a command depending on itself must be refused with dependency_cycle, not admitted");
    if (c.key !== undefined) {
      const k = `${c.lane}\u0000${c.key}`;
      const holder = this.keys.get(k);
      if (holder && keyLive(holder)) this.v("idempotency_key_unique", r, `idempotencyKey ${c.key} is still held by ${holder.id}; this must replay or conflict, not execute again`);
      this.keys.set(k, c);
    }
    let q = this.laneQueues.get(c.lane);
    if (!q) this.laneQueues.set(c.lane, (q = []));
    q.push(c);
  }

  private cmd(r: Row, what: string): ModelCommand | undefined {
    const c = this.commands.get(r.commandId);
    if (!c) this.v("lifecycle_order", r, `${what} row for a command that was never accepted`);
    return c;
  }

  private startedRow(r: Row): void {
    const c = this.cmd(r, "started");
    if (!c) return;
    if (c.finished) return this.v("lifecycle_order", r, "started after it finished");
    if (c.started) return this.v("lifecycle_order", r, "started twice without a requeue");
    const q = this.laneQueues.get(c.lane) ?? [];
    const ahead = q.slice(0, q.indexOf(c));
    if (ahead.length > 0) this.v("lane_fifo", r, `started while ${ahead.map((a) => a.id).join(", ")} (admitted earlier in ${c.lane}) had not finished`);
    const deadline = c.acceptedAt + (c.timeoutMs ?? Infinity);
    const late = r.recordedAt > deadline;
    if (late) this.v("timeout_never_started", r, `started at ${r.recordedAt}, after its deadline ${deadline}`);
    const pre = this.preconditions(c);
    if (pre.kind === "fail") this.v(pre.invariant, r, `started although ${pre.why}`);
    if (pre.kind === "wait") this.v("dependency_causality", r, `started while dependency ${pre.on} had not finished`);
    const s = c.sessionId !== null ? this.sessions.get(c.sessionId) : undefined;
    c.started = { seq: r.seq, state: clone(s?.state ?? null), version: s?.version ?? -1, generation: s?.generation ?? -1 };
    if (c.type === "list_sessions") c.started.versions = this.versions();
  }

  private requeued(r: Row): void {
    const c = this.cmd(r, "requeued");
    if (!c) return;
    if (!this.opts.crashes) this.v("requeue_only_after_restart", r, "requeued without a restart");
    if (c.finished) this.v("lifecycle_order", r, "requeued after it finished");
    if (c.started) this.v("recovery_verdict", r, "a started (non-retryable) command was requeued; it must be interrupted");
    c.started = undefined;
  }

  private finishedRow(r: Row): void {
    const c = this.cmd(r, "finished");
    if (!c) return;
    if (c.finished) return this.v("one_terminal_outcome", r, `second finished row (first at seq ${c.finished.seq})`);
    const got = r.outcome ?? {};
    const code = got.code as string | undefined;
    const q = this.laneQueues.get(c.lane) ?? [];
    const pos = q.indexOf(c);
    let expected: Record<string, unknown> | "given" = "given";
    let effect: (() => void) | undefined;

    if (code === "timeout") {
      this.give("timeout");
      if (got.timedOut !== true) this.v("timeout_outcome", r, "a timeout outcome must carry timedOut:true");
      if (c.timeoutMs !== null && r.recordedAt < c.acceptedAt + c.timeoutMs - 1) this.v("timeout_outcome", r, `timed out at ${r.recordedAt}, before its deadline ${c.acceptedAt + c.timeoutMs}`);
      expected = { command: c.type, success: false, code: "timeout", timedOut: true, ...this.versionField(c) };
    } else if (code === "journal_unavailable") {
      this.give(code);
      if (!this.opts.journalFaults) this.v("no_journal_failure", r, "journal_unavailable without an injected journal fault");
    } else if (code === "interrupted") {
      this.give(code);
      if (!this.opts.crashes) this.v("no_interruption", r, "interrupted without a restart");
      if (!c.started) this.v("recovery_verdict", r, "an accepted, never-started command must be requeued, not interrupted");
    } else if (code === "dependency_timeout") {
      this.give(code);
    } else if (!c.started) {
      if (pos > 0) this.v("lane_fifo", r, `failed its preconditions while ${q.slice(0, pos).map((a) => a.id).join(", ")} (admitted earlier in ${c.lane}) had not finished`);
      const pre = this.preconditions(c);
      if (pre.kind === "ready") this.v("precondition_drift", r, `failed with ${code} without starting, but every precondition held`);
      else if (pre.kind === "wait") this.v("dependency_causality", r, `failed with ${code} while dependency ${pre.on} (another lane) was still unfinished: it must wait`);
      else expected = pre.outcome;
    } else {
      const run = this.run(c, r);
      expected = run.outcome;
      effect = run.effect;
    }

    if (expected !== "given") {
      const cmp = compareOutcome(expected, got, c.type === "list_sessions" && got.success === true);
      if (cmp) this.v("outcome_drift", r, `${c.type}: ${cmp}`);
      if (c.type === "list_sessions" && got.success === true) this.checkList(c, r, got);
    }
    if (got.success === true) {
      // the model's own effect, never the server's
      effect?.();
      if (WRITES.has(c.type) && c.sessionId !== null) {
        const s = this.sessions.get(c.sessionId);
        if (s && got.sessionVersion !== s.version) this.v("session_version_gap_free", r, `successful write reports version ${got.sessionVersion}, model ${s.version}`);
        if (s && r.effect && (!equal(r.effect.state, s.state) || r.effect.version !== s.version)) this.v("effect_drift", r, `journaled effect ${canon(r.effect)} != model state ${canon(s.state)} v${s.version}`);
      }
    } else if (r.effect) this.v("failure_has_no_effect", r, `a failed command carries a session effect ${canon(r.effect)}`);
    c.finished = { seq: r.seq, outcome: got };
    if (pos >= 0) q.splice(pos, 1);
  }

  private replayed(r: Row): void {
    push(this.replays, r.commandId, r);
    const of = r.detail?.replayOf as string | undefined;
    const by = r.detail?.by as string | undefined;
    const o = of !== undefined ? this.commands.get(of) : undefined;
    if (!o) return this.v("replay_consistency", r, `replay of unknown command ${of}`);
    if (!o.finished) return this.v("replay_consistency", r, `replay of ${of} before its outcome was recorded`);
    if (!equal(r.outcome, o.finished.outcome)) this.v("same_id_same_outcome", r, `replayed outcome ${canon(r.outcome)} != original ${canon(o.finished.outcome)}`);
    if (r.lane !== o.lane) this.v("replay_consistency", r, `replayed in lane ${r.lane}, original in ${o.lane}`);
    if (by === "id" && r.commandId !== of) this.v("replay_consistency", r, `replay by id under another id (${of})`);
    if (by === "idempotencyKey" && o.key === undefined) this.v("replay_consistency", r, `replay by key of ${of}, which had no key`);
    if (by === "idempotencyKey" && !keyLive(o)) this.v("idempotency_key_unique", r, `replay by a released key of ${of}`);
    const sends = this.sendsFor(r.commandId);
    const keyOk = (s: Send) => by === "id" || (s.env.idempotencyKey === o.key && laneOf(s.env) === o.lane);
    if (!sends.some((s) => identityOf(s.env) === o.identity && keyOk(s))) this.v("replay_consistency", r, `no frame sent as ${r.commandId} has the original's payload (a different payload must conflict)`);
  }

  private conflict(r: Row): void {
    push(this.conflicts, r.commandId, r);
    const w = r.detail?.conflictWith as string | undefined;
    const o = w !== undefined ? this.commands.get(w) : undefined;
    if (!o) return this.v("replay_consistency", r, `conflict with unknown command ${w}`);
    if (r.outcome?.code !== "replay_conflict" || r.outcome?.success !== false) this.v("replay_consistency", r, `conflict row answers ${canon(r.outcome)}`);
    const sends = this.sendsFor(r.commandId);
    if (!sends.some((s) => identityOf(s.env) !== o.identity)) this.v("replay_consistency", r, `conflict for ${r.commandId}, but every frame sent with it has the original's payload (it must replay)`);
  }

  // ------------------------------------------------------------------ semantics

  private versionField(c: ModelCommand): { sessionVersion?: number } {
    if (c.sessionId === null) return {};
    const s = this.sessions.get(c.sessionId);
    return s ? { sessionVersion: s.version } : {};
  }

  private versions(): Map<string, number> {
    return new Map([...this.sessions].map(([id, s]) => [id, s.version]));
  }

  /** PROTOCOL.md ordering rules 5 and 7, at the lane head, now. */
  private preconditions(c: ModelCommand):
    | { kind: "ready" }
    | { kind: "wait"; on: string }
    | { kind: "fail"; invariant: string; why: string; outcome: Record<string, unknown> } {
    for (const d of c.dependsOn) {
      const dep = this.commands.get(d);
      const fail = (code: string, why: string) => ({ kind: "fail" as const, invariant: "dependency_causality", why, outcome: { command: c.type, success: false, code, ...this.versionField(c) } });
      if (!dep) return fail("dependency_unknown", `dependency ${d} is unknown`);
      if (dep.finished) {
        if (dep.finished.outcome.success !== true) return fail("dependency_failed", `dependency ${d} failed`);
        continue;
      }
      if (dep.lane === c.lane) return fail("dependency_failed", `dependency ${d} is queued behind it in its lane`);
      return { kind: "wait", on: d };
    }
    if (c.sessionId !== null) {
      const s = this.sessions.get(c.sessionId);
      if (!s) return { kind: "fail", invariant: "session_exists", why: `session ${c.sessionId} does not exist`, outcome: { command: c.type, success: false, code: "session_not_found" } };
      if (c.ifSessionVersion !== undefined && s.version !== c.ifSessionVersion) {
        return { kind: "fail", invariant: "if_session_version", why: `session ${c.sessionId} is at version ${s.version}, not ifSessionVersion ${c.ifSessionVersion}`, outcome: { command: c.type, success: false, code: "version_conflict", sessionVersion: s.version } };
      }
    }
    return { kind: "ready" };
  }

  /** A started command's handler, against the model's state. */
  private run(c: ModelCommand, r: Row): { outcome: Record<string, unknown>; effect?: () => void } {
    const p = c.params;
    const st = c.started!;
    if (c.sessionId !== null) {
      const s = this.sessions.get(c.sessionId);
      // The handler runs against the state it started with. If the session was deleted (or
      // deleted and re-created) while it ran, the outcome is session_not_found (PROTOCOL.md:
      // "the session does not exist (or was deleted while the command ran)").
      const gone = !s || s.generation !== st.generation;
      let next: J = null;
      if (c.type === "emit") return gone ? { outcome: { command: c.type, success: false, code: "session_not_found" } } : { outcome: { command: c.type, success: true, data: { emitted: true }, sessionVersion: s.version } };
      if (c.type === "side_effect") {
        // fixture: a non-deterministic write (runs after its started row is durable): state.sideEffects += n
        // on a state that is not an object the fixture's property write throws (strict mode)
        if (typeof st.state !== "object" || st.state === null) {
          return { outcome: { command: c.type, success: false, code: gone ? "session_not_found" : "handler_error", ...(gone ? {} : this.versionField(c)) } };
        }
        const base = st.state as Record<string, J>;
        const total = (typeof base.sideEffects === "number" ? base.sideEffects : 0) + ((p.n as number | undefined) ?? 1);
        if (gone) return { outcome: { command: c.type, success: false, code: "session_not_found" } };
        // an array keeps no named property through JSON: the state is unchanged
        const state: J = Array.isArray(base) ? clone(base) : { ...base, sideEffects: total };
        return { outcome: { command: c.type, success: true, data: { total }, sessionVersion: s.version + 1 }, effect: () => this.sessions.set(c.sessionId!, { ...s, state, version: s.version + 1 }) };
      }
      if (c.type !== "get_state") {
        try {
          next = c.type === "set" ? setAt(clone(st.state), String(p.path), clone(p.value as J)) : applyPatch(st.state, p.ops as PatchOp[]);
        } catch (e) {
          if (!(e instanceof DocError)) throw e;
          const code = c.type === "set" ? "invalid_command" : e.code;
          if (gone) return { outcome: { command: c.type, success: false, code: "session_not_found" } };
          return { outcome: { command: c.type, success: false, code, ...this.versionField(c) } };
        }
      }
      if (gone) return { outcome: { command: c.type, success: false, code: "session_not_found" } };
      if (c.type === "get_state") return { outcome: { command: c.type, success: true, data: { state: st.state }, sessionVersion: s.version } };
      const data = c.type === "set" ? { path: p.path } : { applied: (p.ops as unknown[]).length };
      return {
        outcome: { command: c.type, success: true, data, sessionVersion: s.version + 1 },
        effect: () => this.sessions.set(c.sessionId!, { ...s, state: next, version: s.version + 1 }),
      };
    }
    const sid = p.sessionId as string;
    switch (c.type) {
      case "create_session": {
        if (this.sessions.has(sid)) return { outcome: { command: c.type, success: false, code: "session_exists" } };
        // SessionInfo: createdAt as ISO-8601 (pi-server), createdAtMs epoch ms
        const info = { sessionId: sid, sessionVersion: 0, createdAt: new Date(c.acceptedAt).toISOString(), createdAtMs: c.acceptedAt };
        return {
          outcome: { command: c.type, success: true, data: { sessionId: sid, sessionInfo: info } },
          effect: () => this.sessions.set(sid, { state: clone((p.state as J) ?? {}), version: 0, generation: ++this.generation, createdAt: c.acceptedAt }),
        };
      }
      case "delete_session":
        if (!this.sessions.has(sid)) return { outcome: { command: c.type, success: false, code: "session_not_found" } };
        return { outcome: { command: c.type, success: true, data: { deleted: true, sessionId: sid } }, effect: () => this.sessions.delete(sid) };
      case "list_sessions":
        return { outcome: { command: c.type, success: true } };
    }
    this.v("known_command", r, `no semantics for ${c.type}`);
    return { outcome: { command: c.type, success: false } };
  }

  /** list_sessions: exactly the live sessions (the server lane serialises creates and deletes),
   *  in id order, each at a version it had between the command's start and finish. */
  private checkList(c: ModelCommand, r: Row, got: Record<string, any>): void {
    const list = (got.data?.sessions ?? []) as Array<{ sessionId: string; sessionVersion: number; createdAt: string; createdAtMs: number }>;
    const ids = [...this.sessions.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (got.data?.count !== ids.length || list.length !== ids.length) this.v("outcome_drift", r, `list_sessions count ${got.data?.count}/${list.length}, model ${ids.length}`);
    list.forEach((e, i) => {
      const s = this.sessions.get(e.sessionId);
      if (e.sessionId !== ids[i]) return this.v("outcome_drift", r, `list_sessions[${i}] is ${e.sessionId}, model ${ids[i]}`);
      const lo = c.started?.versions?.get(e.sessionId) ?? 0;
      if (!s || e.sessionVersion < lo || e.sessionVersion > s.version) this.v("outcome_drift", r, `list_sessions: ${e.sessionId} at version ${e.sessionVersion}, model between ${lo} and ${s?.version}`);
      if (s && (e.createdAtMs !== s.createdAt || e.createdAt !== new Date(s.createdAt).toISOString())) this.v("outcome_drift", r, `list_sessions: ${e.sessionId} createdAt ${e.createdAt} (${e.createdAtMs}), model ${s.createdAt}`);
    });
  }

  /** Commands admitted but without a terminal outcome (in flight, or lost to a crash). */
  unfinished(): ModelCommand[] {
    return [...this.commands.values()].filter((c) => !c.finished);
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

function keyLive(holder: ModelCommand): boolean {
  // idempotencyTtlMs (24 h) outlives every test; a journal_unavailable repair releases the key at once
  return !(holder.finished && holder.finished.outcome.code === "journal_unavailable");
}

export function matchesAccepted(s: Send, c: ModelCommand): boolean {
  return s.env.id === c.id && identityOf(s.env) === c.identity && (s.env.idempotencyKey ?? undefined) === c.key;
}

/** Compare a computed outcome with the reported one: every field but the human-readable `error`. */
export function compareOutcome(exp: Record<string, unknown>, got: Record<string, unknown>, skipData = false): string | null {
  const fields = ["command", "success", "code", "sessionVersion", "timedOut", ...(skipData ? [] : ["data"])];
  const diffs: string[] = [];
  for (const f of fields) if (!equal(exp[f], got[f])) diffs.push(`${f}: expected ${canon(exp[f])}, got ${canon(got[f])}`);
  if (got.success === false && typeof got.error !== "string") diffs.push("failure without an error text");
  if (got.success === true && got.error !== undefined) diffs.push("success with an error text");
  return diffs.length > 0 ? diffs.join("; ") : null;
}
