/**
 * The streaming checker: fed the journal's records in seq order, it keeps what the journal implies
 * (lane heads, command lifecycles, sessions, key claims) and evaluates every invariant at the row
 * where it can break. Memory: one small entry per finished command, the full accepted row only
 * while a command is unfinished, and the current state of each session.
 *
 * Scope: a full audit reads every retained row. A windowed audit (fromSeq) learns about commands
 * and sessions from before the window through indexed lookups (prior.ts); a session-filtered
 * audit reads lane `session:<id>` and the server lane, and looks other commands up the same way.
 */
import type { CommandRegistry } from "../commands/registry.js";
import type { AuditCheckpoint, AuditReads } from "../journal/audit-reads.js";
import type { JournalRecord } from "../journal/types.js";
import type { CommandStatus } from "../lifecycle/status.js";
import type { Outcome } from "../protocol/types.js";
import type { Findings } from "./findings.js";
import { KeyClaims } from "./keys.js";
import { Materialized } from "./materialized.js";
import { PriorFacts } from "./prior.js";
import { canTransition } from "../lifecycle/transitions.js";
import { PRECONDITION_CODES } from "../lifecycle/settle.js";
import { chain, Reexecutor, type MaybePromise } from "./reexecute.js";
import { ReplayChecks } from "./replays.js";
import { SessionVersions } from "./session-versions.js";
import { AuditSessions } from "./audit-sessions.js";


const UNFINISHED_IDS_MAX = 100;

interface OpenCommand {
  accepted: JournalRecord;
  status: "queued" | "running";
  /** schema v5: the status and revision the rows so far give it (transition table, CAS) */
  store: CommandStatus;
  revision: number;
  /** when it last joined its lane queue (accepted, approved, released): its deadline's base */
  queuedAt: number;
  startedAt: number | null;
  startedSeq: number | null;
  /** undo-log mark taken when a server-lane command started */
  serverMark: number;
  marked: boolean;
}

type Resolved = { kind: "open"; cmd: OpenCommand } | { kind: "done"; seq: number; success: boolean } | { kind: "unknown" };

export interface AuditorOptions {
  journal: AuditReads;
  registry: CommandRegistry;
  findings: Findings;
  mode: "sync" | "async";
  maxSessions: number;
  /** exclusive lower bound of the scan */
  afterSeq: number;
  /** rows with seq <= baselineSeq were compacted (0 when nothing was) */
  baselineSeq: number;
  checkpoint: AuditCheckpoint | null;
  sessionId: string | null;
}

export interface AuditorResult {
  checkedRows: number;
  commands: number;
  unfinished: { count: number; ids: string[]; truncated: boolean };
}

export class Auditor {
  private readonly findings: Findings;
  private readonly prior: PriorFacts;
  private readonly sessions: AuditSessions;
  private readonly reexec: Reexecutor;
  private readonly keys: KeyClaims;
  private readonly versions: SessionVersions;
  private readonly replays: ReplayChecks;
  private readonly table: Materialized;
  /** the scan starts at the beginning of the retained journal */
  private readonly fromBaseline: boolean;
  /** not every command's rows are read: look unknown ids up */
  private readonly partial: boolean;
  private readonly filtered: boolean;
  private readonly open = new Map<string, OpenCommand>();
  /** finished commands: finishedSeq * 2 + (success ? 1 : 0) */
  private readonly done = new Map<string, number>();
  private readonly laneHeads = new Map<string, { laneSeq: number; at: number | null }>();
  private seq: number;
  private rows = 0;
  private admitted = 0;

  constructor(private readonly opts: AuditorOptions) {
    this.findings = opts.findings;
    this.fromBaseline = opts.afterSeq === opts.baselineSeq;
    this.filtered = opts.sessionId !== null;
    this.partial = !this.fromBaseline || this.filtered;
    this.seq = opts.afterSeq;
    const cpSessions = opts.checkpoint?.sessions ?? {};
    this.prior = new PriorFacts(opts.journal, opts.baselineSeq, cpSessions);
    this.sessions = new AuditSessions({
      // a session filter sees one session's lane: other sessions are created in their own lanes
      universeKnown: this.fromBaseline && !this.filtered,
      onlySession: opts.sessionId,
      resolve: (id, at) => this.prior.sessionBefore(id, at),
      ...(this.fromBaseline ? { initial: cpSessions } : {}),
    });
    this.reexec = new Reexecutor({ registry: opts.registry, sessions: this.sessions, findings: this.findings, mode: opts.mode, maxSessions: opts.maxSessions });
    this.keys = new KeyClaims(this.findings, (type) => opts.registry.get(type)?.scope);
    this.versions = new SessionVersions(this.sessions, this.findings, opts.registry);
    this.replays = new ReplayChecks(this.prior, this.findings, opts.checkpoint !== null);
    this.table = new Materialized(opts.journal, this.findings);
    if (this.fromBaseline && opts.checkpoint) {
      for (const [lane, laneSeq] of Object.entries(opts.checkpoint.lanes)) if (this.inScope(lane)) this.laneHeads.set(lane, { laneSeq, at: null });
    }
  }

  private inScope(lane: string): boolean {
    return this.opts.sessionId === null || lane === "server" || lane === `session:${this.opts.sessionId}`;
  }

  // ---------------------------------------------------------------- rows

  feed(r: JournalRecord): MaybePromise<void> {
    this.rows++;
    this.checkOrder(r);
    switch (r.phase) {
      case "accepted":
        return this.onAccepted(r);
      case "started":
        return this.onStarted(r);
      case "requeued":
        return this.onRequeued(r);
      case "finished":
        return this.onFinished(r);
      case "pending":
      case "approval":
      case "approved":
      case "released":
      case "renewed":
        return this.onGovernance(r);
      case "replayed":
        return this.replays.replayed(r);
      case "conflict":
        return this.replays.conflict(r);
      default:
        this.findings.expect(false, "lifecycle_order", () => ({ seq: r.seq, commandId: r.commandId, message: `unknown journal phase ${String(r.phase)}`, evidence: { phase: r.phase } }));
    }
  }

  /** lane_seq_gap_free */
  private checkOrder(r: JournalRecord): void {
    if (!this.filtered) {
      const prev = this.seq;
      if (r.seq === prev + 1) this.findings.check("lane_seq_gap_free");
      else this.findings.expect(false, "lane_seq_gap_free", () => ({
        seq: r.seq,
        commandId: r.commandId,
        message: r.seq > prev + 1 ? `seq ${r.seq} follows ${prev}: journal rows ${prev + 1}..${r.seq - 1} are missing` : `seq ${r.seq} does not follow ${prev}`,
        evidence: { previousSeq: prev, seq: r.seq },
      }));
    }
    this.seq = r.seq;
    const head = this.laneHeads.get(r.lane);
    const prev = head ? head.laneSeq : this.laneBaseline(r);
    if (prev !== null) {
      if (r.laneSeq === prev + 1) this.findings.check("lane_seq_gap_free");
      else this.findings.expect(false, "lane_seq_gap_free", () => ({
        seq: r.seq,
        commandId: r.commandId,
        message: r.laneSeq > prev + 1 ? `lane ${r.lane}: lane_seq ${r.laneSeq} follows ${prev}; lane_seq ${prev + 1}..${r.laneSeq - 1} are missing` : `lane ${r.lane}: lane_seq ${r.laneSeq} does not follow ${prev} (not strictly increasing)`,
        evidence: { lane: r.lane, previousLaneSeq: prev, laneSeq: r.laneSeq },
      }));
    }
    if (head) {
      head.laneSeq = r.laneSeq;
      head.at = r.recordedAt;
    } else this.laneHeads.set(r.lane, { laneSeq: r.laneSeq, at: r.recordedAt });
  }

  /** The lane's last lane_seq before the scan; null after reporting that it is missing. */
  private laneBaseline(r: JournalRecord): number | null {
    if (this.fromBaseline) return this.opts.checkpoint?.lanes[r.lane] ?? 0;
    if (r.laneSeq <= 1) return 0;
    const before = this.prior.laneRowSeq(r.lane, r.laneSeq - 1);
    if (before !== undefined && before < r.seq) return r.laneSeq - 1;
    this.findings.expect(false, "lane_seq_gap_free", () => ({
      seq: r.seq,
      commandId: r.commandId,
      message: `lane ${r.lane}: lane_seq ${r.laneSeq} has no predecessor (lane_seq ${r.laneSeq - 1} is missing)`,
      evidence: { lane: r.lane, laneSeq: r.laneSeq, predecessorSeq: before ?? null },
    }));
    return null;
  }

  private onAccepted(r: JournalRecord): void {
    const id = r.commandId;
    const known = this.resolve(id, r.seq);
    if (known.kind === "done") {
      this.findings.expect(false, "one_terminal_outcome", () => ({
        seq: r.seq,
        commandId: id,
        message: `${id} is admitted again after its finished row (seq ${known.seq})`,
        evidence: { phase: "accepted", finishedSeq: known.seq },
      }));
      return;
    }
    if (known.kind === "open") {
      this.findings.expect(false, "lifecycle_order", () => ({
        seq: r.seq,
        commandId: id,
        message: `${id} is accepted twice (first at seq ${known.cmd.accepted.seq})`,
        evidence: { firstAcceptedSeq: known.cmd.accepted.seq },
      }));
      return;
    }
    this.findings.check("lifecycle_order");
    this.open.set(id, { accepted: r, status: "queued", store: "queued", revision: 0, queuedAt: r.recordedAt, startedAt: null, startedSeq: null, serverMark: -1, marked: false });
    this.admitted++;
    if (this.fromBaseline) this.keys.claim(r);
  }

  /**
   * Schema v5 rows carry the command's new status and revision: the edge must be in the transition
   * table and the revision one more than the last (rows of older journals carry neither).
   */
  private checkTransition(r: JournalRecord, cmd: OpenCommand): void {
    if (typeof r.revision !== "number" || !r.status) return;
    const legal = canTransition(cmd.store, r.status) && r.revision === cmd.revision + 1;
    if (legal) this.findings.check("lifecycle_order");
    else this.findings.expect(false, "lifecycle_order", () => ({
      seq: r.seq,
      commandId: r.commandId,
      message: canTransition(cmd.store, r.status!)
        ? `${r.commandId}: ${r.phase} row has revision ${r.revision}, expected ${cmd.revision + 1}`
        : `${r.commandId}: ${cmd.store} → ${r.status} (${r.phase}) is not in the transition table`,
      evidence: { from: cmd.store, to: r.status, revision: r.revision, previousRevision: cmd.revision },
    }));
    cmd.store = r.status;
    cmd.revision = r.revision;
  }

  /** pending / approval / approved / released / renewed: governance transitions outside the lane. */
  private onGovernance(r: JournalRecord): void {
    const cmd = this.lifecycleTarget(r);
    if (!cmd) return;
    this.checkTransition(r, cmd);
    if (r.phase === "approved" || r.phase === "released") cmd.queuedAt = r.recordedAt;
  }

  private onStarted(r: JournalRecord): void {
    const cmd = this.lifecycleTarget(r);
    if (!cmd) return;
    this.checkTransition(r, cmd);
    if (cmd.status === "queued") this.findings.check("lifecycle_order");
    else this.findings.expect(false, "lifecycle_order", () => ({
      seq: r.seq,
      commandId: r.commandId,
      message: `${r.commandId} is started again (already started at seq ${String(cmd.startedSeq)}) without a requeued row in between`,
      evidence: { previousStartedSeq: cmd.startedSeq },
    }));
    const a = cmd.accepted;
    if (typeof a.timeoutMs === "number") {
      const deadline = cmd.queuedAt + a.timeoutMs;
      if (r.recordedAt <= deadline) this.findings.check("timeout_never_started");
      else this.findings.expect(false, "timeout_never_started", () => ({
        seq: r.seq,
        commandId: r.commandId,
        message: `${r.commandId} started ${r.recordedAt - deadline} ms after its deadline (acceptedAt ${a.recordedAt} + timeoutMs ${a.timeoutMs})`,
        evidence: { acceptedSeq: a.seq, acceptedAt: a.recordedAt, timeoutMs: a.timeoutMs, deadline, startedAt: r.recordedAt },
      }));
    }
    for (const dep of a.dependsOn ?? []) this.checkDependency(cmd, dep, r);
    cmd.status = "running";
    cmd.startedAt = r.recordedAt;
    cmd.startedSeq = r.seq;
    if (r.lane === "server") {
      if (cmd.marked) this.sessions.closeMark();
      cmd.serverMark = this.sessions.openMark();
      cmd.marked = true;
    }
  }

  private checkDependency(cmd: OpenCommand, dep: string, started: JournalRecord): void {
    const d = this.resolve(dep, started.seq);
    const base = { seq: started.seq, commandId: started.commandId };
    if (d.kind === "unknown" && this.opts.checkpoint) {
      this.findings.cannotVerify("dependency_in_compacted_prefix");
      return;
    }
    if (d.kind === "done" && d.success && d.seq < started.seq) this.findings.check("dependencies_before_start");
    else this.findings.expect(false, "dependencies_before_start", () => ({
      ...base,
      message:
        d.kind === "unknown"
          ? `${started.commandId} started although its dependency ${dep} is not a known command`
          : d.kind === "open"
            ? `${started.commandId} started at seq ${started.seq} before its dependency ${dep} finished (${dep} is ${d.cmd.status})`
            : !d.success
              ? `${started.commandId} started although its dependency ${dep} did not succeed (finished at seq ${d.seq})`
              : `${started.commandId} started at seq ${started.seq}, before its dependency ${dep} finished at seq ${d.seq}`,
      evidence: { dependency: dep, dependsOn: cmd.accepted.dependsOn, startedSeq: started.seq, dependency_state: d.kind === "done" ? { finishedSeq: d.seq, success: d.success } : d.kind === "open" ? { status: d.cmd.status, acceptedSeq: d.cmd.accepted.seq } : "unknown" },
    }));
  }

  private onRequeued(r: JournalRecord): void {
    const cmd = this.lifecycleTarget(r);
    if (!cmd) return;
    this.checkTransition(r, cmd);
    cmd.status = "queued";
    cmd.startedAt = null;
    cmd.startedSeq = null;
    this.releaseMark(cmd);
  }

  /** The open command a started / requeued row is about; reports rows after finished or without accepted. */
  private lifecycleTarget(r: JournalRecord): OpenCommand | undefined {
    const known = this.resolve(r.commandId, r.seq);
    if (known.kind === "done") {
      this.findings.expect(false, "one_terminal_outcome", () => ({
        seq: r.seq,
        commandId: r.commandId,
        message: `${r.phase} row for ${r.commandId} after its finished row (seq ${known.seq}); only replayed / conflict rows may follow it`,
        evidence: { phase: r.phase, finishedSeq: known.seq },
      }));
      return undefined;
    }
    if (known.kind === "unknown") {
      this.findings.expect(false, "lifecycle_order", () => ({
        seq: r.seq,
        commandId: r.commandId,
        message: `${r.phase} row for ${r.commandId}, which was never accepted`,
        evidence: { phase: r.phase },
      }));
      return undefined;
    }
    this.findings.check("lifecycle_order");
    return known.cmd;
  }

  private onFinished(r: JournalRecord): MaybePromise<void> {
    const id = r.commandId;
    const known = this.resolve(id, r.seq);
    if (known.kind === "done") {
      const first = this.prior.finishedRow(id, r.seq);
      this.findings.expect(false, "one_terminal_outcome", () => ({
        seq: r.seq,
        commandId: id,
        message: `${id} has a second finished row (the first is at seq ${known.seq})`,
        evidence: { firstFinishedSeq: known.seq, firstOutcome: first ? safeParse(first.outcome) : null, secondOutcome: r.outcome ?? null },
      }));
      return;
    }
    const o = r.outcome;
    if (!o) {
      this.findings.expect(false, "one_terminal_outcome", () => ({ seq: r.seq, commandId: id, message: `finished row of ${id} has no outcome`, evidence: { status: r.status ?? null } }));
    } else {
      const want = expectedStatus(o, r.detail);
      if (r.status === want) this.findings.check("one_terminal_outcome");
      else this.findings.expect(false, "one_terminal_outcome", () => ({
        seq: r.seq,
        commandId: id,
        message: `finished row of ${id} has status ${String(r.status)} but its outcome says ${want}`,
        evidence: { status: r.status ?? null, outcome: o },
      }));
    }
    if (known.kind === "unknown") {
      this.findings.expect(false, "one_terminal_outcome", () => ({
        seq: r.seq,
        commandId: id,
        message: `finished row for ${id}, which was never admitted (no accepted row)`,
        evidence: { outcome: o ?? null },
      }));
      this.versions.step(r, null);
      return;
    }
    const cmd = known.cmd;
    this.checkTransition(r, cmd);
    if (o) {
      const handlerOutcome = o.success || !PRECONDITION_CODES.has(o.code ?? "");
      if (handlerOutcome) {
        if (cmd.status === "running") this.findings.check("lifecycle_order");
        else this.findings.expect(false, "lifecycle_order", () => ({
          seq: r.seq,
          commandId: id,
          message: `${id} finished with a handler outcome (${o.success ? "success" : o.code}) but has no started row since it was ${cmd.startedSeq === null ? "accepted" : "requeued"}`,
          evidence: { acceptedSeq: cmd.accepted.seq, outcome: o },
        }));
      }
      if (o.timedOut) this.checkTimeoutClaim(r, o, cmd);
    }
    const subject = { accepted: cmd.accepted, finished: r, running: cmd.status === "running", serverMark: cmd.marked ? cmd.serverMark : -1 };
    return chain(this.reexec.check(subject), () => this.afterFinished(r, cmd));
  }

  /** timeout_never_started: what a timeout outcome says about the start must match the rows. */
  private checkTimeoutClaim(r: JournalRecord, o: Outcome, cmd: OpenCommand): void {
    const error = o.error ?? "";
    if (error.includes("before it started")) {
      if (cmd.status === "queued") this.findings.check("timeout_never_started");
      else this.findings.expect(false, "timeout_never_started", () => ({
        seq: r.seq,
        commandId: r.commandId,
        message: `${r.commandId} timed out "before it started" but has a started row (seq ${String(cmd.startedSeq)})`,
        evidence: { startedSeq: cmd.startedSeq, startedAt: cmd.startedAt, outcome: o },
      }));
    } else if (error.includes("while running")) {
      if (cmd.status === "running") this.findings.check("timeout_never_started");
      else this.findings.expect(false, "timeout_never_started", () => ({
        seq: r.seq,
        commandId: r.commandId,
        message: `${r.commandId} timed out "while running" but has no started row`,
        evidence: { outcome: o },
      }));
    }
  }

  private afterFinished(r: JournalRecord, cmd: OpenCommand): void {
    this.versions.step(r, cmd.accepted.recordedAt);
    if (this.fromBaseline) this.keys.finish(cmd.accepted, r);
    this.table.command(cmd, r);
    this.open.delete(r.commandId);
    this.done.set(r.commandId, r.seq * 2 + (r.outcome?.success ? 1 : 0));
    this.releaseMark(cmd);
  }

  private releaseMark(cmd: OpenCommand): void {
    if (!cmd.marked) return;
    cmd.marked = false;
    cmd.serverMark = -1;
    this.sessions.closeMark();
  }

  // ---------------------------------------------------------------- lookups

  /** What is known about a command as of row `atSeq`. */
  private resolve(id: string, atSeq: number): Resolved {
    const cmd = this.open.get(id);
    if (cmd) return { kind: "open", cmd };
    const d = this.done.get(id);
    if (d !== undefined) return { kind: "done", seq: Math.floor(d / 2), success: d % 2 === 1 };
    if (!this.partial) return { kind: "unknown" };
    const history = this.prior.commandHistory(id, atSeq);
    let found: OpenCommand | undefined;
    let finished: JournalRecord | undefined;
    for (const h of history) {
      if (found && typeof h.revision === "number" && h.status) Object.assign(found, { store: h.status, revision: h.revision, ...(h.phase === "approved" || h.phase === "released" ? { queuedAt: h.recordedAt } : {}) });
      if (h.phase === "accepted" && !found) found = { accepted: h, status: "queued", store: "queued", revision: 0, queuedAt: h.recordedAt, startedAt: null, startedSeq: null, serverMark: -1, marked: false };
      else if (found && h.phase === "started") Object.assign(found, { status: "running", startedAt: h.recordedAt, startedSeq: h.seq });
      else if (found && h.phase === "requeued") Object.assign(found, { status: "queued", startedAt: null, startedSeq: null });
      else if (h.phase === "finished" && !finished) finished = h;
    }
    const lane = found?.accepted.lane ?? finished?.lane;
    const cacheable = lane !== undefined && this.inScope(lane);
    if (finished) {
      if (cacheable) this.done.set(id, finished.seq * 2 + (finished.outcome?.success ? 1 : 0));
      return { kind: "done", seq: finished.seq, success: finished.outcome?.success === true };
    }
    if (found) {
      if (cacheable) this.open.set(id, found);
      return { kind: "open", cmd: found };
    }
    return { kind: "unknown" };
  }

  // ---------------------------------------------------------------- end of scan

  finish(reachedEnd: boolean): AuditorResult {
    const ids: string[] = [];
    let count = 0;
    for (const [id, cmd] of this.open) {
      if (reachedEnd) {
        const row = this.table.commandRow(id);
        if (row && row.outcome !== null) {
          this.findings.expect(false, "one_terminal_outcome", () => ({
            seq: cmd.accepted.seq,
            commandId: id,
            message: `${id} has a terminal commands row (${row.status}, finished_seq ${String(row.finished_seq)}) but no finished row in the journal`,
            evidence: { table: { status: row.status, finishedSeq: row.finished_seq, outcome: safeParse(row.outcome) } },
          }));
          continue;
        }
        this.table.command(cmd, undefined, row);
      }
      count++;
      if (ids.length < UNFINISHED_IDS_MAX) ids.push(id);
    }
    if (reachedEnd) {
      const complete = this.fromBaseline && !this.filtered;
      this.table.sessions(this.sessions, complete ? (this.opts.checkpoint ? "live" : "all") : "none");
      this.table.lanes(this.laneHeads, complete);
      if (this.fromBaseline) {
        const inScope = new Map([...this.keys.entries].filter(([, e]) => this.inScope(e.scope)));
        this.table.keys(inScope, complete && !this.opts.checkpoint);
      }
      if (complete) this.table.commandCount(this.opts.baselineSeq, this.admitted, (id) => this.open.has(id) || this.done.has(id));
    }
    return { checkedRows: this.rows, commands: this.admitted, unfinished: { count, ids, truncated: count > ids.length } };
  }
}

/** The terminal status the engine gives an outcome (a handler may throw any code: then "failed"). */
function expectedStatus(o: Outcome, detail: Record<string, unknown> | null | undefined): string {
  if (o.success) return "succeeded";
  if (o.code === "timeout" && o.timedOut) return "timed_out";
  if (o.code === "interrupted" && detail?.recovery !== undefined) return "interrupted";
  if (o.code === "rejected" || o.code === "cancelled" || o.code === "expired" || o.code === "superseded") return o.code;
  return "failed";
}

function safeParse(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
