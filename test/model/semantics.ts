/**
 * The reference model's command semantics, against its own session table: the preconditions a
 * command meets at its lane head (PROTOCOL.md ordering rules 5 and 7) and the outcome and effect
 * of running it. Pure functions of the model's world; model.ts decides when they apply.
 */
import { DocError, applyPatch, clone, setAt, type J, type PatchOp } from "./json.js";
import { isSessionScope, sessionMustExist } from "./rules.js";

export interface Session {
  state: J;
  version: number;
  generation: number;
  createdAt: number;
}

export interface ModelCommand {
  id: string;
  type: string;
  lane: string;
  /** session-scope commands: their session; server commands: null */
  sessionId: string | null;
  /** the session whose lane the command runs in (create/delete/switch_session too), or null */
  target: string | null;
  params: Record<string, unknown>;
  dependsOn: string[];
  ifSessionVersion: number | undefined;
  key: string | undefined;
  keyScope: string;
  /** the accepted row's fingerprint: what a duplicate id or key must match to replay */
  identity: string;
  acceptedSeq: number;
  acceptedAt: number;
  timeoutMs: number | null;
  started?: { seq: number; state: J; version: number; generation: number };
  finished?: { seq: number; outcome: Record<string, any> };
}

export interface World {
  sessions: Map<string, Session>;
  commands: Map<string, ModelCommand>;
  nextGeneration(): number;
}

export type Outcome = Record<string, unknown>;

export type Precondition =
  | { kind: "ready" }
  | { kind: "wait"; on: string }
  | { kind: "fail"; invariant: string; why: string; outcome: Outcome };

export interface RunResult {
  outcome: Outcome;
  effect?: () => void;
  /** the outcome's data is not computed (a list checked separately, or an operator read) */
  skipData?: boolean;
}

/** A failure of a session-scope command carries the session's current version; others none. */
export function versionField(c: ModelCommand, w: World): { sessionVersion?: number } {
  if (c.sessionId === null) return {};
  const s = w.sessions.get(c.sessionId);
  return s ? { sessionVersion: s.version } : {};
}

/** Ordering rules 5 and 7, at the lane head, now. */
export function preconditions(c: ModelCommand, w: World): Precondition {
  for (const d of c.dependsOn) {
    const dep = w.commands.get(d);
    const fail = (code: string, why: string) => ({ kind: "fail" as const, invariant: "dependency_causality", why, outcome: { command: c.type, success: false, code, ...versionField(c, w) } });
    if (!dep) return fail("dependency_unknown", `dependency ${d} is unknown`);
    if (dep.finished) {
      if (dep.finished.outcome.success !== true) return fail("dependency_failed", `dependency ${d} failed`);
      continue;
    }
    if (dep.lane === c.lane) return fail("dependency_failed", `dependency ${d} is queued behind it in its lane`);
    return { kind: "wait", on: d };
  }
  if (c.target !== null && sessionMustExist(c.type)) {
    const s = w.sessions.get(c.target);
    if (!s) return { kind: "fail", invariant: "session_exists", why: `session ${c.target} does not exist`, outcome: { command: c.type, success: false, code: "session_not_found" } };
    if (c.ifSessionVersion !== undefined && s.version !== c.ifSessionVersion) {
      return { kind: "fail", invariant: "if_session_version", why: `session ${c.target} is at version ${s.version}, not ifSessionVersion ${c.ifSessionVersion}`, outcome: { command: c.type, success: false, code: "version_conflict", sessionVersion: s.version } };
    }
  }
  return { kind: "ready" };
}

/** A started command's handler, against the model's state. */
export function run(c: ModelCommand, w: World): RunResult | undefined {
  if (isSessionScope(c.type)) return runSession(c, w);
  const sid = c.target;
  switch (c.type) {
    case "create_session": {
      if (sid === null || w.sessions.has(sid)) return { outcome: { command: c.type, success: false, code: "session_exists" } };
      const info = sessionInfo(sid, 0, c.acceptedAt);
      const state = clone((c.params.state as J | undefined) ?? {});
      // rule 6: a create answers the new session's version, 0
      return {
        outcome: { command: c.type, success: true, data: { sessionId: sid, sessionInfo: info }, sessionVersion: 0 },
        effect: () => w.sessions.set(sid, { state, version: 0, generation: w.nextGeneration(), createdAt: c.acceptedAt }),
      };
    }
    case "delete_session":
      // it runs in the session's lane after the precondition that the session exists: nothing
      // of that lane can delete it in between (rule 6: no sessionVersion, the session is gone)
      return { outcome: { command: c.type, success: true, data: { deleted: true, sessionId: sid } }, effect: () => w.sessions.delete(sid!) };
    case "switch_session": {
      const s = w.sessions.get(sid!)!;
      return { outcome: { command: c.type, success: true, data: { sessionInfo: sessionInfo(sid!, s.version, s.createdAt) }, sessionVersion: s.version } };
    }
    case "list_sessions":
      return { outcome: { command: c.type, success: true }, skipData: true };
  }
  // operator reads and subscriptions: their data is connection-, engine- or clock-dependent
  return { outcome: { command: c.type, success: true }, skipData: true };
}

function runSession(c: ModelCommand, w: World): RunResult {
  const p = c.params;
  const st = c.started!;
  const s = w.sessions.get(c.sessionId!);
  // The handler runs against the state it started with. If the session was deleted (or deleted
  // and re-created) while it ran, the outcome is session_not_found (PROTOCOL.md: "the session
  // does not exist (or was deleted while the command ran)"). Deletes now run in the session's
  // lane, so for these commands this can no longer happen; the rule stays modelled.
  const gone = !s || s.generation !== st.generation;
  const notFound = { outcome: { command: c.type, success: false, code: "session_not_found" } };
  if (c.type === "emit") return gone ? notFound : { outcome: { command: c.type, success: true, data: { emitted: true }, sessionVersion: s.version } };
  if (c.type === "side_effect") {
    // fixture: a non-deterministic write (runs after its started row is durable): state.sideEffects += n;
    // on a state that is not an object the fixture's property write throws (strict mode)
    if (typeof st.state !== "object" || st.state === null) return gone ? notFound : { outcome: { command: c.type, success: false, code: "handler_error", ...versionField(c, w) } };
    const base = st.state as Record<string, J>;
    const total = (typeof base.sideEffects === "number" ? base.sideEffects : 0) + ((p.n as number | undefined) ?? 1);
    if (gone) return notFound;
    // an array keeps no named property through JSON: the state is unchanged
    const state: J = Array.isArray(base) ? clone(base) : { ...base, sideEffects: total };
    return { outcome: { command: c.type, success: true, data: { total }, sessionVersion: s.version + 1 }, effect: () => w.sessions.set(c.sessionId!, { ...s, state, version: s.version + 1 }) };
  }
  let next: J = null;
  if (c.type !== "get_state") {
    try {
      next = c.type === "set" ? setAt(clone(st.state), String(p.path), clone(p.value as J)) : applyPatch(st.state, p.ops as PatchOp[]);
    } catch (e) {
      if (!(e instanceof DocError)) throw e;
      if (gone) return notFound;
      return { outcome: { command: c.type, success: false, code: c.type === "set" ? "invalid_command" : e.code, ...versionField(c, w) } };
    }
  }
  if (gone) return notFound;
  if (c.type === "get_state") return { outcome: { command: c.type, success: true, data: { state: st.state }, sessionVersion: s.version } };
  const data = c.type === "set" ? { path: p.path } : { applied: (p.ops as unknown[]).length };
  return { outcome: { command: c.type, success: true, data, sessionVersion: s.version + 1 }, effect: () => w.sessions.set(c.sessionId!, { ...s, state: next, version: s.version + 1 }) };
}

/** What `list_sessions` answers for a session table: every session, in id order. */
export function sessionList(sessions: Map<string, Session>): { sessions: Array<ReturnType<typeof sessionInfo>>; count: number } {
  const ids = [...sessions.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { sessions: ids.map((id) => sessionInfo(id, sessions.get(id)!.version, sessions.get(id)!.createdAt)), count: ids.length };
}

/** pi-server's SessionInfo: createdAt as ISO-8601, causeway's epoch ms as createdAtMs. */
function sessionInfo(sessionId: string, sessionVersion: number, createdAt: number): { sessionId: string; sessionVersion: number; createdAt: string; createdAtMs: number } {
  return { sessionId, sessionVersion, createdAt: new Date(createdAt).toISOString(), createdAtMs: createdAt };
}
