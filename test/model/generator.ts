/**
 * Seeded workload generator for the differential checker: N clients, M sessions, phases of
 * concurrent bursts. Everything is a pure function of the seed, so a printed seed replays the
 * exact same frames (cross-lane timing is the server's, and the model takes it as given).
 *
 * Within a phase the clients' frames are interleaved in a seeded order and pipelined; a `sync`
 * step waits for one client's outstanding responses, a `barrier` for everyone's. Dependencies are
 * valid (an earlier id), unknown (never sent), failing (an earlier command that may fail),
 * cross-lane, racy (another client's id of the same phase: unknown, waited for, or a cycle), the
 * command's own id (a cycle), repeated, or an empty list. Ids and idempotency keys are reused with
 * the same and with a different payload, keys also on other command types and sessions (server
 * commands share one key scope, session commands one per session); frames are sent twice
 * verbatim. Sessions are created with and without a `sessionId` (a generated one) and used at once,
 * pipelined behind their create without dependsOn (one lane per session); operator commands
 * (health_check, get_lanes, subscribe, switch_session) take part like any other;
 * `ifSessionVersion` also goes on delete_session and, to be refused, on commands that cannot use
 * it; some frames carry an unknown top-level field (ignored, but part of the fingerprint).
 */
import type { CommandEnvelope } from "../../src/protocol/types.js";
import { rng, type Rng } from "./rng.js";
import { generatedSessionId, isSessionScope } from "./rules.js";
import type { Send } from "./types.js";

export type Step = { kind: "send"; send: Send } | { kind: "sync"; client: number } | { kind: "barrier" };

export interface Workload {
  seed: number;
  clients: number;
  sessions: string[];
  steps: Step[];
  sends: Send[];
}

export interface GenOptions {
  /** id / session prefix (default `f<seed>`) */
  prefix?: string;
  clients?: [number, number];
  sessions?: [number, number];
  phases?: [number, number];
  perClient?: [number, number];
  /** share of commands with a tiny timeoutMs, 1–4 ms (default 0.1) */
  timeoutRate?: number;
  /** delete / re-create sessions (default true) */
  deletes?: boolean;
  /** share of `side_effect` fixture commands (non-deterministic writes; needs the fixtures) */
  sideEffectRate?: number;
}

const VALUES = [0, 1, 2, 3, "x", "é", "😀", "日本", true, null, { k: 1 }, [1, 2]];

type Env = CommandEnvelope & { id: string };

export function generate(seed: number, o: GenOptions = {}): Workload {
  return new Generator(seed, o).run();
}

/** The generator's state while it writes one workload (a pure function of the seed). */
class Generator {
  private readonly r: Rng;
  private readonly P: string;
  private readonly nClients: number;
  private readonly sessions: string[];
  private readonly steps: Step[] = [];
  private readonly sends: Send[] = [];
  private readonly index: number[];
  private n = 0;
  /** the version each session is probably at (for ifSessionVersion) */
  private readonly guess = new Map<string, number>();
  private readonly keyed: Send[] = [];
  /** sends of earlier phases (admitted before anything of this phase) */
  private earlier: Send[] = [];
  private readonly phaseOf = new Map<Send, number>();
  private phaseNo = 0;

  constructor(
    private readonly seed: number,
    private readonly o: GenOptions,
  ) {
    this.r = rng(seed);
    this.P = o.prefix ?? `f${seed}`;
    this.nClients = this.r.int(...(o.clients ?? [2, 4]));
    const nSessions = this.r.int(...(o.sessions ?? [2, 3]));
    this.sessions = Array.from({ length: nSessions }, (_, i) => `${this.P}-s${i}`);
    this.index = Array(this.nClients).fill(0) as number[];
  }

  run(): Workload {
    this.phaseZero();
    const phases = this.r.int(...(this.o.phases ?? [2, 3]));
    for (let ph = 0; ph < phases; ph++) this.phase(ph + 1);
    this.markRacy();
    // final reads: the state and version of every session, and the session list
    for (const s of this.sessions) this.emit(0, { type: "get_state", id: `${this.P}-final-${s}`, sessionId: s });
    this.emit(0, { type: "list_sessions", id: `${this.P}-final-list` });
    this.steps.push({ kind: "barrier" });
    return { seed: this.seed, clients: this.nClients, sessions: this.sessions, steps: this.steps, sends: this.sends };
  }

  private emit(client: number, env: Env, racyDeps = false): Send {
    const send: Send = { client, index: this.index[client]!++, env, racyDeps };
    this.steps.push({ kind: "send", send });
    this.sends.push(send);
    this.phaseOf.set(send, this.phaseNo);
    return send;
  }

  /**
   * Client 0 creates the sessions (one maybe with a generated id) and pipelines a write and a
   * read behind a create without dependsOn (same session, same lane: FIFO); the other clients
   * already write to them (racing the creates).
   */
  private phaseZero(): void {
    const { r, P } = this;
    const named = [...this.sessions];
    if (r.chance(0.5)) {
      const id = `${P}-create-gen`;
      this.emit(0, { type: "create_session", id, ...(r.chance(0.5) ? { state: { g: 1 } } : {}) });
      const sid = generatedSessionId(id);
      this.sessions.push(sid);
      this.emit(0, { type: "set", id: `${P}-pipe-set-gen`, sessionId: sid, path: "/g", value: 2 });
      this.guess.set(sid, 1);
      this.emit(0, { type: "get_state", id: `${P}-pipe-get-gen`, sessionId: sid });
    }
    for (const s of named) {
      const env: Env = { type: "create_session", id: `${P}-create-${s}`, sessionId: s };
      if (r.chance(0.3)) env.state = { a: 0, list: [] };
      this.emit(0, env);
      if (r.chance(0.15)) this.emit(0, { ...env }); // duplicate send
      if (r.chance(0.3)) {
        this.emit(0, { type: "set", id: `${P}-pipe-set-${s}`, sessionId: s, path: "/p", value: 1 });
        this.guess.set(s, 1);
        this.emit(0, { type: "get_state", id: `${P}-pipe-get-${s}`, sessionId: s });
      }
    }
    for (const s of this.sessions) if (!this.guess.has(s)) this.guess.set(s, 0);
    for (let c = 1; c < this.nClients; c++) if (r.chance(0.5)) this.emit(c, { type: "set", id: `${P}-early-${c}`, sessionId: r.pick(this.sessions), path: "/early", value: c });
    this.steps.push({ kind: "barrier" });
    this.earlier = [...this.sends];
  }

  /** One burst: the clients' queues interleaved in a seeded order, with occasional per-client syncs. */
  private phase(no: number): void {
    this.phaseNo = no;
    const thisPhase: Send[] = [];
    const queues: Array<Array<() => void>> = [];
    for (let c = 0; c < this.nClients; c++) {
      const q: Array<() => void> = [];
      const m = this.r.int(...(this.o.perClient ?? [4, 9]));
      for (let i = 0; i < m; i++) q.push(() => thisPhase.push(this.build(c, thisPhase)));
      queues.push(q);
    }
    for (;;) {
      const live = queues.map((q, c) => (q.length > 0 ? c : -1)).filter((c) => c >= 0);
      if (live.length === 0) break;
      const c = this.r.pick(live);
      queues[c]!.shift()!();
      if (this.r.chance(0.06)) this.steps.push({ kind: "sync", client: c });
    }
    this.steps.push({ kind: "barrier" });
    this.earlier = [...this.sends];
  }

  /** One frame of client `c`: a reuse of an id or key, a verbatim copy, or a fresh command. */
  private build(c: number, thisPhase: Send[]): Send {
    const { r } = this;
    const copySources = [...this.earlier, ...thisPhase.filter((s) => s.client === c)];
    const id = `${this.P}-c${c}-${this.n++}`;
    const sid = r.pick(this.sessions);
    const k = r();
    if (k < 0.08 && copySources.length > 0) {
      const src = r.pick(copySources);
      return this.emit(c, structuredClone(src.env), src.racyDeps);
    }
    if (k < 0.13 && copySources.length > 0) {
      const src = r.pick(copySources);
      return this.emit(c, { type: "set", id: src.env.id, sessionId: sid, path: "/reused", value: this.n });
    }
    if (k < 0.2 && this.keyed.length > 0) {
      const src = r.pick(this.keyed.filter((s) => copySources.includes(s)).concat(this.keyed.slice(0, 1)));
      const env = structuredClone(src.env);
      env.id = id;
      if (r.chance(0.4) && env.type === "set") env.value = `other-${this.n}`; // same key, different payload
      return this.emit(c, env, src.racyDeps);
    }
    if (k < 0.23 && this.keyed.length > 0) {
      // the same key on another command: a server command's key is server-wide (it conflicts
      // with any other server command holding it), a session command's only in its session
      const src = r.pick(this.keyed);
      const other = isSessionScope(src.env.type)
        ? { type: "set", id, sessionId: sid, path: "/k", value: this.n }
        : r.pick([{ type: "create_session", id, sessionId: sid }, { type: "list_sessions", id }, { type: "health_check", id }, { type: "delete_session", id, sessionId: sid }]);
      return this.emit(c, { ...other, idempotencyKey: src.env.idempotencyKey } as Env);
    }
    const env = this.fresh(k, id, sid);
    this.envelope(env, c, sid);
    const racy = this.dependencies(env, id, copySources, thisPhase.filter((s) => s.client !== c));
    if (r.chance(this.o.timeoutRate ?? 0.1)) env.timeoutMs = r.int(1, 4);
    const send = this.emit(c, env, racy);
    if (env.idempotencyKey) this.keyed[this.keyed.length - 1] = send;
    return send;
  }

  /** A fresh command of a type picked by `k`. */
  private fresh(k: number, id: string, sid: string): Env {
    const { r, o, n } = this;
    let env: Env;
    if (k < 0.49) env = { type: "set", id, sessionId: sid, path: r.pick(["/a", "/b", "/n/x", "/list/-", "/a/deep", ""]), value: structuredClone(r.pick(VALUES)) };
    else if (k < 0.62) env = { type: "patch", id, sessionId: sid, ops: patchOps(r) };
    else if (k < 0.75) env = { type: "get_state", id, sessionId: sid };
    else if (k < 0.79) env = { type: "list_sessions", id };
    else if (k < 0.83 && o.deletes !== false) env = { type: "delete_session", id, sessionId: sid };
    else if (k < 0.86) env = r.chance(0.1) ? { type: "create_session", id } : { type: "create_session", id, sessionId: sid };
    else if (k < 0.88) env = { type: "switch_session", id, sessionId: sid };
    else if (k < 0.9) env = r.chance(0.6) ? { type: "health_check", id } : { type: "get_lanes", id };
    else if (k < 0.91) env = { type: "subscribe", id, sessionId: sid };
    else env = { type: "set", id, sessionId: sid, path: "/c", value: n };
    if (o.sideEffectRate && r.chance(o.sideEffectRate)) env = { type: "side_effect", id, sessionId: sid, n: r.int(1, 3) };
    if (env.type === "set" && env.path === "") env.value = { a: n, list: [] };
    return env;
  }

  /** Envelope extras: an unknown field, ifSessionVersion (checked or refused), an idempotency key. */
  private envelope(env: Env, c: number, sid: string): void {
    const { r } = this;
    // an unknown top-level field is ignored, but counts in the fingerprint
    if ((env.type === "set" || env.type === "get_state" || env.type === "list_sessions") && r.chance(0.04)) env.note = `n${this.n}`;
    if ((env.type === "set" || env.type === "patch" || env.type === "get_state" || env.type === "delete_session") && r.chance(0.2)) {
      const g = this.guess.get(sid)!;
      env.ifSessionVersion = r.chance(0.6) ? g : Math.max(0, g + r.pick([-2, -1, 1]));
    } else if (!isSessionScope(env.type) && env.type !== "delete_session" && r.chance(0.05)) {
      env.ifSessionVersion = r.int(0, 2); // refused at admission: only session-targeted commands take it
    }
    if (env.type === "set" || env.type === "patch" || env.type === "side_effect") this.guess.set(sid, this.guess.get(sid)! + 1);
    if (r.chance(0.15)) {
      env.idempotencyKey = `${this.P}-k${this.n}`;
      this.keyed.push({ client: c, index: -1, env, racyDeps: false });
    }
  }

  /** dependsOn: earlier ids, unknown ids, racy ids of other clients, its own id; returns racy. */
  private dependencies(env: Env, id: string, copySources: Send[], others: Send[]): boolean {
    const { r } = this;
    let racy = false;
    if (r.chance(0.3)) {
      const deps: string[] = [];
      for (let d = r.int(1, 3); d > 0; d--) {
        const kind = r();
        if (kind < 0.45 && copySources.length > 0) deps.push(r.pick(copySources).env.id);
        else if (kind < 0.6) deps.push(`${this.P}-ghost-${r.int(0, 3)}`);
        else if (kind < 0.85 && others.length > 0) {
          deps.push(r.pick(others).env.id);
          racy = true;
        } else if (kind < 0.88) deps.push(id);
        else if (copySources.length > 0) deps.push(r.pick(copySources).env.id);
      }
      // a repeated id counts once; most lists have none
      const unique = [...new Set(deps)];
      if (unique.length > 0) env.dependsOn = r.chance(0.15) ? [...unique, unique[0]!] : unique;
    } else if (r.chance(0.03)) env.dependsOn = []; // needs no id, and is part of the fingerprint
    return racy;
  }

  /**
   * A frame whose id another frame depends on without being certainly admitted after it (an
   * earlier phase, another client of the same phase, an earlier frame of the same client) may
   * close a wait-for cycle when it is admitted: dependency_cycle is then a legal answer to it.
   */
  private markRacy(): void {
    const { sends, phaseOf } = this;
    for (const target of sends) {
      if (target.racyDeps) continue;
      const refs = sends.filter((x) => x !== target && (x.env.dependsOn ?? []).includes(target.env.id));
      const after = (x: Send): boolean => phaseOf.get(x)! > phaseOf.get(target)! || (phaseOf.get(x) === phaseOf.get(target) && x.client === target.client && x.index > target.index);
      if (refs.some((x) => !after(x))) target.racyDeps = true;
    }
  }
}

function patchOps(r: Rng): Array<Record<string, unknown>> {
  const ops: Array<Record<string, unknown>> = [];
  for (let i = r.int(0, 3); i > 0; i--) {
    const k = r();
    if (k < 0.3) ops.push({ op: "test", path: r.pick(["/a", "/b", "/c"]), value: r.int(0, 3) });
    else if (k < 0.55) ops.push({ op: "add", path: r.pick(["/a", "/c", "/list/-", "/n/y"]), value: r.int(0, 3) });
    else if (k < 0.8) ops.push({ op: "replace", path: r.pick(["/a", "/b"]), value: r.int(0, 3) });
    else ops.push({ op: "remove", path: r.pick(["/b", "/c"]) });
  }
  return ops;
}
