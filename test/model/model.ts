/**
 * The Level 5 reference model: a small, single-threaded, pure re-implementation of PROTOCOL.md's
 * semantics (with pi-server PROTOCOL 1.0.0's lane and idempotency rules, test/model/rules.ts) for
 * the built-in commands (create_session, delete_session, list_sessions, get_state, set, patch),
 * the operator commands (health_check, switch_session, subscribe, …) and the test fixtures:
 * lanes, dependsOn, ifSessionVersion, idempotency keys, replay by id and key.
 *
 * Concurrency across lanes is not deterministic, so the model takes the order the server reports
 * as given: it walks the journal rows in `seq` order (each lane's rows in `laneSequence` order)
 * and, at every row, decides what the protocol says must happen at that point:
 *
 * - `accepted`: the id was never admitted, its idempotency key is not live in its scope, it was
 *   really sent (the row's fingerprint and envelope are those of a frame sent with that id), in
 *   the lane of the session it names, with the key scope of its kind;
 * - `started`: it is the head of its lane (FIFO by admission, one at a time), every dependency
 *   finished successfully before, the session exists and is at `ifSessionVersion`, the deadline
 *   has not passed;
 * - `finished`: the outcome is exactly the one the model computes (precondition failure, or the
 *   command run against the model's own session state, test/model/semantics.ts), and the model
 *   applies the effect;
 * - `replayed` / `conflict`: equal to the original's stored outcome / `replay_conflict`.
 *
 * Timeouts are taken as given (a timed-out command must not have started, or its effect is
 * discarded); `journal_unavailable` is given when journal faults are injected; `interrupted` when
 * the server was killed; the data of operator commands (engine and connection facts) is given.
 * Everything else is computed. Violations name the rule they break.
 */
import { canon, clone, equal } from "./json.js";
import { stateAfter } from "../../src/lifecycle/effects.js";
import type { SessionEffect } from "../../src/lifecycle/status.js";
import { fingerprintOf, FIXTURES, ifSessionVersionAllowed, isSessionScope, keyScopeOf, laneOf, normalizedOf, OPERATOR_TYPES, SERVER_TYPES, targetOf, WRITES, type Env } from "./rules.js";
import { preconditions, run, sessionList, versionField, type ModelCommand, type Session, type World } from "./semantics.js";
import type { Row, Send, Violation } from "./types.js";

export type { ModelCommand } from "./semantics.js";

export interface ModelOptions {
  /** journal commits may fail: `journal_unavailable` outcomes are given */
  journalFaults?: boolean;
  /** the server may have been killed: `interrupted` outcomes and `requeued` rows are given */
  crashes?: boolean;
  /** also model the test fixture `emit` (fixtures/commands/test-commands.mjs): a session read
   *  that answers {emitted:true} and sends a session event */
  fixtures?: boolean;
}

/** What a fingerprint covers: the envelope without `id`, `idempotencyKey` and `timeoutMs`. */
export const identityOf = (env: Record<string, unknown>): string => fingerprintOf(env);

type ListData = ReturnType<typeof sessionList>;

export class ReferenceModel implements World {
  readonly violations: Violation[] = [];
  readonly commands = new Map<string, ModelCommand>();
  readonly sessions = new Map<string, Session>();
  /** outcomes taken as given rather than computed, by code */
  readonly given = new Map<string, number>();
  private readonly sendsById = new Map<string, Send[]>();
  private readonly laneQueues = new Map<string, ModelCommand[]>();
  private readonly laneSeqs = new Map<string, number>();
  /** #17: each session's state as the journal's effects leave it */
  private readonly journalStates = new Map<string, unknown>();
  private readonly keys = new Map<string, ModelCommand>();
  /** list_sessions commands between their started and finished rows: the session lists they may see */
  private readonly listViews = new Map<ModelCommand, ListData[]>();
  /** replayed / conflict rows by the id they answered */
  readonly replays = new Map<string, Row[]>();
  readonly conflicts = new Map<string, Row[]>();
  private generation = 0;
  private lastSeq = 0;
  rows = 0;

  constructor(private readonly opts: ModelOptions = {}) {}

  nextGeneration(): number {
    return ++this.generation;
  }

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
    // the envelope as sent, rebuilt from the row: a server command keeps its `sessionId` in params
    const env: Env = { type: r.type, ...params };
    if (isSessionScope(r.type)) env.sessionId = r.sessionId;
    if (r.dependsOn && r.dependsOn.length > 0) env.dependsOn = r.dependsOn;
    if (r.ifSessionVersion !== null) env.ifSessionVersion = r.ifSessionVersion;
    const target = targetOf(env, r.commandId);
    const c: ModelCommand = {
      id: r.commandId,
      type: r.type,
      lane: r.lane,
      sessionId: isSessionScope(r.type) ? r.sessionId : null,
      target,
      params,
      dependsOn: r.dependsOn ?? [],
      ifSessionVersion: r.ifSessionVersion ?? undefined,
      key: r.idempotencyKey ?? undefined,
      keyScope: keyScopeOf(env, r.commandId),
      identity: r.fingerprint ?? "",
      acceptedSeq: r.seq,
      acceptedAt: r.recordedAt,
      timeoutMs: r.timeoutMs,
    };
    this.commands.set(c.id, c);
    const known = isSessionScope(r.type) || SERVER_TYPES.has(r.type) || OPERATOR_TYPES.has(r.type);
    if (!known || (FIXTURES.has(r.type) && !this.opts.fixtures)) this.v("known_command", r, `type ${r.type} is not a built-in command`);
    if (r.lane !== laneOf(env, r.commandId)) this.v("lane_of_command", r, `admitted in lane ${r.lane}, expected ${laneOf(env, r.commandId)}`);
    if (r.sessionId !== target) this.v("lane_of_command", r, `journaled with session ${r.sessionId}, expected ${target}`);
    if (c.key !== undefined && r.idempotencyScope !== c.keyScope) this.v("idempotency_key_scope", r, `idempotencyKey scoped to ${r.idempotencyScope}, expected ${c.keyScope}`);
    if (c.ifSessionVersion !== undefined && !ifSessionVersionAllowed(c.type)) this.v("if_session_version_refused", r, `${c.type} with ifSessionVersion must be refused at admission with invalid_command`);
    const sends = this.sendsFor(c.id);
    const normalized = normalizedOf(env);
    if (sends.length === 0) this.v("admitted_as_sent", r, "admitted a command id no client sent");
    else if (!sends.some((s) => matchesAccepted(s, c) && normalizedOf(s.env) === normalized)) {
      this.v("admitted_as_sent", r, `the accepted envelope (fingerprint ${r.fingerprint}, ${normalized}) matches none of the ${sends.length} frames sent with this id`);
    }
    if (c.dependsOn.includes(c.id)) this.v("dependency_cycle_refused", r, "a command depending on itself must be refused with dependency_cycle, not admitted");
    if (c.key !== undefined) {
      const k = `${c.keyScope}\u0000${c.key}`;
      const holder = this.keys.get(k);
      if (holder && keyLive(holder)) this.v("idempotency_key_unique", r, `idempotencyKey ${c.key} is still held by ${holder.id} in scope ${c.keyScope}; this must replay or conflict, not execute again`);
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
    if (r.recordedAt > deadline) this.v("timeout_never_started", r, `started at ${r.recordedAt}, after its deadline ${deadline}`);
    const pre = preconditions(c, this);
    if (pre.kind === "fail") this.v(pre.invariant, r, `started although ${pre.why}`);
    if (pre.kind === "wait") this.v("dependency_causality", r, `started while dependency ${pre.on} had not finished`);
    const s = c.sessionId !== null ? this.sessions.get(c.sessionId) : undefined;
    c.started = { seq: r.seq, state: clone(s?.state ?? null), version: s?.version ?? -1, generation: s?.generation ?? -1 };
    if (c.type === "list_sessions") this.listViews.set(c, [sessionList(this.sessions)]);
  }

  private requeued(r: Row): void {
    const c = this.cmd(r, "requeued");
    if (!c) return;
    if (!this.opts.crashes) this.v("requeue_only_after_restart", r, "requeued without a restart");
    if (c.finished) this.v("lifecycle_order", r, "requeued after it finished");
    if (c.started) this.v("recovery_verdict", r, "a started (non-retryable) command was requeued; it must be interrupted");
    c.started = undefined;
  }

  /** #17: the state a finished row's effect leaves, by the journal alone (a patch applies to the state the journal left before). */
  private journaledState(r: Row): unknown {
    const e = r.effect as SessionEffect | null | undefined;
    if (!e) return undefined;
    if (e.kind === "delete") {
      this.journalStates.delete(e.sessionId);
      return undefined;
    }
    let state: unknown;
    try {
      state = stateAfter(e, this.journalStates.get(e.sessionId));
    } catch (err) {
      state = { patchDoesNotApply: (err as Error).message };
    }
    this.journalStates.set(e.sessionId, state);
    return state;
  }

  private finishedRow(r: Row): void {
    const journaled = this.journaledState(r);
    const c = this.cmd(r, "finished");
    if (!c) return;
    if (c.finished) return this.v("one_terminal_outcome", r, `second finished row (first at seq ${c.finished.seq})`);
    const got = r.outcome ?? {};
    const code = got.code as string | undefined;
    const q = this.laneQueues.get(c.lane) ?? [];
    const pos = q.indexOf(c);
    let expected: Record<string, unknown> | "given" = "given";
    let effect: (() => void) | undefined;
    let skipData = false;

    if (code === "timeout") {
      this.give("timeout");
      if (got.timedOut !== true) this.v("timeout_outcome", r, "a timeout outcome must carry timedOut:true");
      if (c.timeoutMs !== null && r.recordedAt < c.acceptedAt + c.timeoutMs - 1) this.v("timeout_outcome", r, `timed out at ${r.recordedAt}, before its deadline ${c.acceptedAt + c.timeoutMs}`);
      expected = { command: c.type, success: false, code: "timeout", timedOut: true, ...versionField(c, this) };
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
      const pre = preconditions(c, this);
      if (pre.kind === "ready") this.v("precondition_drift", r, `failed with ${code} without starting, but every precondition held`);
      else if (pre.kind === "wait") this.v("dependency_causality", r, `failed with ${code} while dependency ${pre.on} (another lane) was still unfinished: it must wait`);
      else expected = pre.outcome;
    } else {
      const result = run(c, this);
      if (!result) this.v("known_command", r, `no semantics for ${c.type}`);
      expected = result?.outcome ?? "given";
      effect = result?.effect;
      skipData = result?.skipData === true;
    }

    if (expected !== "given") {
      const cmp = compareOutcome(expected, got, skipData);
      if (cmp) this.v("outcome_drift", r, `${c.type}: ${cmp}`);
      if (skipData && got.success === true) this.checkData(c, r, got);
    }
    if (got.success === true) {
      // the model's own effect, never the server's
      effect?.();
      if (effect) for (const views of this.listViews.values()) views.push(sessionList(this.sessions));
      if (WRITES.has(c.type) && c.sessionId !== null) {
        const s = this.sessions.get(c.sessionId);
        if (s && got.sessionVersion !== s.version) this.v("session_version_gap_free", r, `successful write reports version ${got.sessionVersion}, model ${s.version}`);
        if (s && r.effect && (!equal(journaled, s.state) || r.effect.version !== s.version)) this.v("effect_drift", r, `journaled effect ${canon(r.effect)} (state ${canon(journaled)}) != model state ${canon(s.state)} v${s.version}`);
      }
    } else if (r.effect) this.v("failure_has_no_effect", r, `a failed command carries a session effect ${canon(r.effect)}`);
    this.listViews.delete(c);
    c.finished = { seq: r.seq, outcome: got };
    if (pos >= 0) q.splice(pos, 1);
  }

  /** The data of a successful command whose data the model does not compute exactly. */
  private checkData(c: ModelCommand, r: Row, got: Record<string, any>): void {
    if (c.type !== "list_sessions") {
      if (typeof got.data !== "object" || got.data === null) this.v("outcome_drift", r, `${c.type}: data ${canon(got.data)} is not an object`);
      return;
    }
    // Rule 10: list_sessions runs in the server lane while creates and deletes run in their
    // sessions' lanes, so nothing serialises it with them any more. Its handler reads the session
    // table in one synchronous step, after its started row and before its finished row, and every
    // create / delete / write changes that table in the same step that appends its finished row.
    // So the list is exactly the session table (ids, versions, createdAt) as it stood after some
    // prefix of the journal ending between the list's started and finished rows: the model's
    // table at the started row, or right after one of the effects journaled in between.
    const views = this.listViews.get(c) ?? [];
    if (!views.some((view) => equal(view, got.data))) {
      const last = views[views.length - 1];
      this.v("outcome_drift", r, `list_sessions ${canon(got.data)} is none of the ${views.length} session tables between its started and finished rows (last: ${canon(last)})`);
    }
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
    // a key replays only within its scope: the session lane for session commands, server-wide otherwise
    const keyOk = (s: Send) => by === "id" || (s.env.idempotencyKey === o.key && keyScopeOf(s.env, s.env.id) === o.keyScope);
    if (!sends.some((s) => identityOf(s.env) === o.identity && keyOk(s))) this.v("replay_consistency", r, `no frame sent as ${r.commandId} has the original's payload in the original's key scope (a different payload must conflict)`);
  }

  private conflict(r: Row): void {
    push(this.conflicts, r.commandId, r);
    const w = r.detail?.conflictWith as string | undefined;
    const o = w !== undefined ? this.commands.get(w) : undefined;
    if (!o) return this.v("replay_consistency", r, `conflict with unknown command ${w}`);
    if (r.outcome?.code !== "replay_conflict" || r.outcome?.success !== false) this.v("replay_consistency", r, `conflict row answers ${canon(r.outcome)}`);
    const sends = this.sendsFor(r.commandId);
    const by = w === r.commandId ? "id" : "idempotencyKey";
    const keyOk = (s: Send) => by === "id" || (s.env.idempotencyKey === o.key && keyScopeOf(s.env, s.env.id) === o.keyScope);
    if (!sends.some((s) => identityOf(s.env) !== o.identity && keyOk(s))) this.v("replay_consistency", r, `conflict for ${r.commandId} with ${w}, but no frame sent with it has another payload in the original's key scope`);
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
