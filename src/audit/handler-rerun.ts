/**
 * One re-run of a recorded command's handler: against the audit's session table as of the
 * command's finished row, with the recorded params and the recorded ctx.now() / ctx.random()
 * values (reexecute-context.ts). What it returned or threw becomes an outcome and a session effect
 * by the engine's own rule (lifecycle/settle.ts), without the size limits (the server's limits are
 * not in the journal; size refusals are not re-run).
 */
import type { CommandDefinition } from "../commands/define.js";
import type { JournalRecord } from "../journal/types.js";
import { UNLIMITED_OUTPUT } from "../lifecycle/output.js";
import { settleError, settleResult, type SettleSubject, type VersionOf } from "../lifecycle/settle.js";
import type { SessionEffect } from "../lifecycle/status.js";
import type { Outcome } from "../protocol/types.js";
import type { AuditSessions } from "./audit-sessions.js";
import type { MaybePromise } from "./maybe-promise.js";
import { buildReexecContext, OutOfScopeError, RecordedValuesExhausted, type ReexecRun, type SessionsView } from "./reexecute-context.js";

export interface ReexecSubject {
  accepted: JournalRecord;
  finished: JournalRecord;
  /** a started row since the last accepted / requeued row */
  running: boolean;
  /** server-lane commands: undo-log mark taken at the started row (-1: none) */
  serverMark: number;
}

/** What a re-run produced: its outcome, effect, and how many recorded values it consumed. */
export interface Produced {
  outcome: Outcome;
  effect: SessionEffect | undefined;
  /** the session's state before the re-run (what a recorded patch applies to) */
  before?: unknown;
  consumed: { clock: number; random: number };
  limitAssumed: boolean;
}

export type Attempt = { kind: "produced"; p: Produced } | { kind: "skip"; reason: string } | { kind: "error"; message: string };

/** The numbers of a recorded detail.clock / detail.random list. */
export function numbers(v: unknown): number[] {
  return Array.isArray(v) ? v.filter((x): x is number => typeof x === "number") : [];
}

export class HandlerRerun {
  constructor(
    private readonly sessions: AuditSessions,
    /** "sync": a handler returning a promise is skipped (in-process audit); "async": awaited (CLI) */
    private readonly mode: "sync" | "async",
    private readonly maxSessions: number,
  ) {}

  /** Run the handler of `s` once against the session table as it is now. */
  attempt(s: ReexecSubject, def: CommandDefinition): MaybePromise<Attempt> {
    const a = s.accepted;
    const detail = s.finished.detail ?? {};
    const sid = def.scope === "session" ? (a.sessionId ?? null) : null;
    const sess = sid !== null ? this.sessions.get(sid, s.finished.seq) : undefined;
    let abort: AbortController | undefined;
    const run = buildReexecContext({
      commandId: a.commandId,
      type: a.type,
      scope: def.scope,
      sessionId: sid,
      actor: a.actor,
      acceptedAt: a.recordedAt,
      state: sess?.state,
      sessionVersion: sess?.version ?? null,
      clock: numbers(detail.clock),
      random: numbers(detail.random),
      sessions: this.view(s.finished.seq),
      maxSessions: this.maxSessions,
      signal: () => (abort ??= new AbortController()).signal,
    });
    const finish = (data: unknown): Attempt => this.produced(s, def, run, data);
    const fail = (err: unknown): Attempt => this.failed(s, def, run, err);
    let ret: unknown;
    try {
      ret = def.run(run.ctx, structuredClone(a.params ?? {}) as Record<string, unknown>);
    } catch (err) {
      return fail(err);
    }
    if (!(ret instanceof Promise)) return finish(ret);
    if (this.mode === "sync") {
      ret.catch(() => {});
      abort?.abort();
      return { kind: "skip", reason: "async_handler" };
    }
    const ms = Math.max(1_000, a.timeoutMs ?? 30_000);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort?.abort();
        reject(new RecordedValuesExhausted(`the handler did not settle within ${ms} ms`));
      }, ms);
      timer.unref();
    });
    return Promise.race([ret, timeout]).then(
      (data) => (clearTimeout(timer), finish(data)),
      (err: unknown) => (clearTimeout(timer), fail(err)),
    );
  }

  private produced(s: ReexecSubject, def: CommandDefinition, run: ReexecRun, data: unknown): Attempt {
    const settled = settleResult(this.subject(s, def), run, data, UNLIMITED_OUTPUT, this.versionAt(s.finished.seq));
    return { kind: "produced", p: { outcome: settled.outcome, effect: settled.effect, before: run.base().state, consumed: run.consumed(), limitAssumed: run.limitAssumed() } };
  }

  private failed(s: ReexecSubject, def: CommandDefinition, run: ReexecRun, err: unknown): Attempt {
    if (err instanceof OutOfScopeError) return { kind: "skip", reason: "unknown_input" };
    if (err instanceof RecordedValuesExhausted) return { kind: "error", message: err.message };
    const settled = settleError(this.subject(s, def), err, this.versionAt(s.finished.seq));
    return { kind: "produced", p: { outcome: settled.outcome, effect: undefined, consumed: run.consumed(), limitAssumed: run.limitAssumed() } };
  }

  /** The recorded command as the settle rule sees it: a session command's session, a server command's target. */
  private subject(s: ReexecSubject, def: CommandDefinition): SettleSubject {
    const sessionId = def.scope === "session" || def.targetSession ? (s.accepted.sessionId ?? null) : null;
    return { type: s.accepted.type, scope: def.scope, effect: def.effect, errorCodes: def.errorCodes, sessionId };
  }

  /** Session versions as of journal position `seq` (a session that does not exist there: undefined). */
  private versionAt(seq: number): VersionOf {
    return (sid) => {
      const sess = this.sessions.get(sid, seq);
      return sess?.live && sess.version !== null ? sess.version : undefined;
    };
  }

  /** What ctx.sessions sees: the audit table, refusing facts it does not have. */
  private view(atSeq: number): SessionsView {
    const sessions = this.sessions;
    const unknown = (what: string): never => {
      throw new OutOfScopeError(`${what} is not known to this audit (window, session filter or compacted prefix)`);
    };
    const live = (): Array<[string, NonNullable<ReturnType<AuditSessions["peek"]>>]> => {
      if (!sessions.universeKnown) unknown("the set of sessions");
      const out: Array<[string, NonNullable<ReturnType<AuditSessions["peek"]>>]> = [];
      for (const [id, rec] of sessions.entries()) {
        if (rec.live === null) unknown(`session ${id}`);
        if (rec.live) out.push([id, rec]);
      }
      return out;
    };
    return {
      exists(id) {
        const rec = sessions.get(id, atSeq);
        if (!rec) return false;
        if (rec.live === null) unknown(`session ${id}`);
        return rec.live === true;
      },
      list() {
        return live().map(([id, rec]) => {
          if (rec.version === null || rec.createdAtCtx === null) unknown(`the version of session ${id}`);
          return { sessionId: id, sessionVersion: rec.version!, createdAt: rec.createdAtCtx! };
        });
      },
      count() {
        return live().length;
      },
      atLimit(max) {
        if (!sessions.universeKnown) return null;
        let n = 0;
        for (const [, rec] of sessions.entries()) if (rec.live) n++;
        return n >= max;
      },
    };
  }
}
