/**
 * Deterministic re-execution: run a finished command's handler again, in journal order, against
 * the audit's session table, with the recorded params and the recorded ctx.now() / ctx.random()
 * values, and compare what it produces with what the journal recorded.
 *
 * Rules (PROTOCOL.md, "Replay audit"):
 * - only handlers declared `deterministic: true` and registered in the audit's registry run; others
 *   are skipped and counted (`non_deterministic`, `unregistered`);
 * - an outcome the engine decided without the handler is not re-run: a precondition failure of a
 *   command that never started (dependency_*, session_not_found, version_conflict, timeout,
 *   interrupted, journal_unavailable); `version_conflict` and `session_not_found` are reproduced
 *   from the session table (cheap), the others are counted. A started command that ended in
 *   timeout / interrupted / journal_unavailable / state_too_large / result_too_large (or
 *   session_not_found, for a session command) is counted too: that outcome came from the engine,
 *   not from the handler;
 * - a command that did run must have met its preconditions: the session existed and was at
 *   ifSessionVersion;
 * - compared: command, success, code, data, sessionVersion, the session effect (kind, session,
 *   version, state as JSON), and how many recorded clock / random values the handler consumed;
 * - a server-lane handler ran at some moment between its started and finished rows; when the
 *   table as of the finished row does not reproduce its outcome, every earlier point back to the
 *   started row is tried (list_sessions sees other lanes' versions). A session's createdAt is
 *   the create command's acceptedAt; journals written before the create effect carried it stored
 *   the finished row's recorded_at after a restart, so both are accepted (as epoch ms and as ISO
 *   text); older journals recorded SessionInfo.createdAt as epoch ms without createdAtMs, which
 *   this fallback reads as today's form (session-info.ts); and the engine lists
 *   sessions in its in-memory order (creation order, reset to id order by a restart, which the
 *   journal does not record), so in that fallback arrays are compared without regard to order.
 *
 * The handler run itself is handler-rerun.ts; the comparison outcome-equality.ts.
 */
import { isServerLane } from "../lifecycle/lanes.js";
import { PRECONDITION_CODES } from "../lifecycle/settle.js";
import type { CommandDefinition } from "../commands/define.js";
import type { CommandRegistry } from "../commands/registry.js";
import type { JournalRecord } from "../journal/types.js";
import { containsRedacted } from "../journal/redaction.js";
import type { Findings } from "./findings.js";
import { HandlerRerun, type Attempt, type Produced, type ReexecSubject } from "./handler-rerun.js";
import { chain, type MaybePromise } from "./maybe-promise.js";
import { outcomeDifferences } from "./outcome-equality.js";
import type { AuditSessions } from "./audit-sessions.js";

/**
 * An outcome the engine gave a command whose handler was already running: its deadline
 * (timedOut), restart recovery (detail.recovery), a journal repair (detail.repair), a session
 * deleted under a session command, or an output above maxStateBytes / maxResultBytes. (A handler may throw these codes itself; then it is re-run.)
 */
function engineOutcomeWhileRunning(f: JournalRecord): boolean {
  const o = f.outcome!;
  if (o.code === "timeout") return o.timedOut === true;
  if (o.code === "interrupted") return f.detail?.recovery !== undefined;
  if (o.code === "journal_unavailable") return f.detail?.repair !== undefined;
  // reserved: only the engine gives them, by limits the journal does not record
  if (o.code === "state_too_large" || o.code === "result_too_large") return true;
  return o.code === "session_not_found" && !isServerLane(f.lane);
}

/** The engine checks this command's session (existence, ifSessionVersion) at the lane head. */
function needsSession(def: CommandDefinition): boolean {
  return def.scope === "session" || def.targetSession?.mustExist === true;
}

export interface ReexecutorOptions {
  registry: CommandRegistry;
  sessions: AuditSessions;
  findings: Findings;
  /** "sync": a handler returning a promise is skipped (in-process audit); "async": awaited (CLI) */
  mode: "sync" | "async";
  maxSessions: number;
}

export class Reexecutor {
  private readonly registry: CommandRegistry;
  private readonly sessions: AuditSessions;
  private readonly findings: Findings;
  private readonly runner: HandlerRerun;

  constructor(opts: ReexecutorOptions) {
    this.registry = opts.registry;
    this.sessions = opts.sessions;
    this.findings = opts.findings;
    this.runner = new HandlerRerun(opts.sessions, opts.mode, opts.maxSessions);
  }

  /** Check one finished command. Reports into findings; never touches the session table for good. */
  check(s: ReexecSubject): MaybePromise<void> {
    const f = s.finished;
    const o = f.outcome;
    if (!o) return;
    const def = this.registry.get(f.type);
    const code = o.success ? undefined : o.code;
    if (code !== undefined && !s.running && PRECONDITION_CODES.has(code)) return this.reproducePrecondition(s, code, def);
    if (code !== undefined && s.running && engineOutcomeWhileRunning(f)) {
      return this.findings.skip(`engine_outcome:${code}`);
    }
    if (!def) return this.findings.skip("unregistered");
    if (!def.deterministic) return this.findings.skip("non_deterministic");
    // "[REDACTED]" placeholders are not the params the handler saw
    if (containsRedacted(s.accepted.params)) return this.findings.skip("redacted_params");
    if (!s.running) return this.findings.skip("not_started");
    if (needsSession(def)) {
      const sid = s.accepted.sessionId ?? "";
      const sess = this.sessions.get(sid, f.seq);
      if (!sess || sess.live === null || (sess.live && (sess.version === null || !sess.stateKnown))) return this.findings.skip("no_baseline");
      if (!sess.live) return this.mismatch(s, `${f.type} ran although session ${sid} does not exist at this point of the journal`, { sessionExists: false });
      const want = s.accepted.ifSessionVersion;
      if (want !== undefined && want !== null && want !== sess.version) {
        return this.mismatch(s, `${f.type} ran although ifSessionVersion ${want} differs from the session version ${sess.version}`, { ifSessionVersion: want, sessionVersion: sess.version });
      }
    }
    return this.rerun(s, def);
  }

  private reproducePrecondition(s: ReexecSubject, code: string, def: CommandDefinition | undefined): void {
    const sid = s.accepted.sessionId;
    const sessionScope = def ? needsSession(def) : !isServerLane(s.finished.lane);
    if ((code !== "version_conflict" && code !== "session_not_found") || !sessionScope || sid === null || sid === undefined) {
      return this.findings.skip(`precondition:${code}`);
    }
    const sess = this.sessions.get(sid, s.finished.seq);
    if (!sess || sess.live === null || (code === "version_conflict" && sess.live && sess.version === null)) {
      if (!sess && this.sessions.universeKnown) {
        // a session the journal never created: session_not_found is right, version_conflict is not
        if (code === "session_not_found") return this.reproduced();
        return this.mismatch(s, `version_conflict recorded, but session ${sid} does not exist (expected session_not_found)`, { sessionExists: false });
      }
      return this.findings.skip("precondition_unverifiable");
    }
    const o = s.finished.outcome!;
    // a stale governed command (onStale reject) is refused against the version its approvals named
    const stale = s.finished.detail?.stale as { expectedVersion?: number } | undefined;
    if (code === "session_not_found") {
      if (!sess.live) return this.reproduced();
      return this.mismatch(s, `session_not_found recorded, but session ${sid} exists (version ${String(sess.version)})`, { sessionExists: true, sessionVersion: sess.version });
    }
    if (!sess.live) return this.mismatch(s, `version_conflict recorded, but session ${sid} does not exist (expected session_not_found)`, { sessionExists: false });
    const want = stale?.expectedVersion ?? s.accepted.ifSessionVersion;
    const conflict = want !== undefined && want !== null && want !== sess.version;
    if (conflict && o.sessionVersion === sess.version) return this.reproduced();
    return this.mismatch(s, conflict ? `version_conflict reports sessionVersion ${String(o.sessionVersion)}, the session is at ${String(sess.version)}` : `version_conflict recorded, but the session is at ifSessionVersion ${String(want)}`, {
      ifSessionVersion: want ?? null,
      sessionVersion: sess.version,
      recordedSessionVersion: o.sessionVersion ?? null,
    });
  }

  private reproduced(): void {
    this.findings.reexecution.preconditionsReproduced++;
    this.findings.check("deterministic_reexecution");
  }

  private rerun(s: ReexecSubject, def: CommandDefinition): MaybePromise<void> {
    this.findings.reexecution.reexecuted++;
    const serverScope = def.scope === "server";
    return chain(this.runner.attempt(s, def), (first) => {
      if (first.kind === "skip") return this.skipRun(first.reason);
      // the session count was unknown (window), so maxSessions could not be checked
      if (first.kind === "produced" && first.p.limitAssumed && s.finished.outcome?.code === "limit_exceeded") return this.skipRun("unknown_input");
      let firstDiff = first.kind === "produced" ? this.compare(s, first.p, false) : null;
      if (first.kind === "produced" && firstDiff !== null && serverScope) firstDiff = this.compare(s, first.p, true) ?? null;
      if (first.kind === "produced" && firstDiff === null) return this.matched();
      const mark = s.serverMark;
      const changes = serverScope ? this.sessions.changesSince(mark) : 0;
      if (changes === 0) return this.report(s, first, firstDiff);
      // try the table as it was at each earlier point back to the started row
      const tryAt = (k: number): MaybePromise<void> => {
        if (k < 0) return this.report(s, first, firstDiff);
        this.sessions.rewindTo(mark, k);
        return chain(this.runner.attempt(s, def), (a) => {
            this.sessions.fastForward(mark, k);
            if (a.kind === "produced" && (this.compare(s, a.p, false) === null || this.compare(s, a.p, true) === null)) return this.matched();
            return tryAt(k - 1);
        });
      };
      return tryAt(changes - 1);
    });
  }

  private skipRun(reason: string): void {
    this.findings.reexecution.reexecuted--;
    this.findings.skip(reason);
  }

  private matched(): void {
    this.findings.reexecution.matched++;
    this.findings.check("deterministic_reexecution");
  }

  private report(s: ReexecSubject, a: Attempt, diff: Record<string, unknown> | null): void {
    this.findings.reexecution.mismatched++;
    if (a.kind === "error") return this.violation(s, `re-execution of ${s.finished.type} failed: ${a.message}`, { error: a.message });
    const p = (a as { kind: "produced"; p: Produced }).p;
    const fields = Object.keys(diff ?? {});
    this.violation(s, `re-executing ${s.finished.type} does not reproduce the recorded ${fields.join(", ")}`, {
      differences: diff,
      recorded: { outcome: s.finished.outcome, effect: s.finished.effect ?? null },
      reexecuted: { outcome: p.outcome, effect: p.effect ?? null },
    });
  }

  private mismatch(s: ReexecSubject, message: string, evidence: Record<string, unknown>): void {
    this.findings.reexecution.mismatched++;
    this.violation(s, message, { ...evidence, recorded: { outcome: s.finished.outcome } });
  }

  private violation(s: ReexecSubject, message: string, evidence: Record<string, unknown>): void {
    this.findings.check("deterministic_reexecution");
    const v = { invariant: "deterministic_reexecution" as const, seq: s.finished.seq, commandId: s.finished.commandId, message, evidence: { type: s.finished.type, acceptedSeq: s.accepted.seq, params: s.accepted.params, ...evidence } };
    this.findings.violation(s.accepted.sessionId ? { ...v, sessionId: s.accepted.sessionId } : v);
  }

  /** Differences between the recorded and the re-executed result (null: none). */
  private compare(s: ReexecSubject, p: Produced, aliasCreatedAt: boolean): Record<string, unknown> | null {
    return outcomeDifferences(s, p, aliasCreatedAt ? this.sessions.entries() : null);
  }
}
