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
import { isServerLane } from "../lifecycle/lanes.js";
import type { CommandRegistry } from "../commands/registry.js";
import type { AuditCheckpoint, AuditReads } from "../journal/audit-reads.js";
import type { JournalRecord } from "../journal/types.js";
import { isGovernancePhase } from "../lifecycle/status.js";
import { jsonOrText, type Findings } from "./findings.js";
import { KeyClaims } from "./keys.js";
import { Materialized } from "./materialized.js";
import { PriorFacts } from "./prior.js";
import { CommandIndex, type OpenCommand } from "./command-index.js";
import { LaneOrder } from "./lane-order.js";
import { checkDependency, checkFinishedStatus, checkOutcomeAgainstStart, checkStart, checkTransition } from "./lifecycle-checks.js";
import { chain, type MaybePromise } from "./maybe-promise.js";
import { Reexecutor } from "./reexecute.js";
import { ReplayChecks } from "./replays.js";
import { SessionVersions } from "./session-versions.js";
import { AuditSessions } from "./audit-sessions.js";

const UNFINISHED_IDS_MAX = 100;

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
  private readonly order: LaneOrder;
  private readonly commands: CommandIndex;
  /** the scan starts at the beginning of the retained journal */
  private readonly fromBaseline: boolean;
  private readonly filtered: boolean;
  private rows = 0;
  private admitted = 0;

  constructor(private readonly opts: AuditorOptions) {
    this.findings = opts.findings;
    this.fromBaseline = opts.afterSeq === opts.baselineSeq;
    this.filtered = opts.sessionId !== null;
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
    const inScope = (lane: string): boolean => this.inScope(lane);
    this.order = new LaneOrder({ findings: this.findings, prior: this.prior, afterSeq: opts.afterSeq, fromBaseline: this.fromBaseline, filtered: this.filtered, checkpointLanes: opts.checkpoint?.lanes ?? null, inScope });
    // not every command's rows are read: look unknown ids up
    this.commands = new CommandIndex(this.prior, !this.fromBaseline || this.filtered, inScope);
  }

  private inScope(lane: string): boolean {
    return this.opts.sessionId === null || isServerLane(lane) || lane === `session:${this.opts.sessionId}`;
  }

  // ---------------------------------------------------------------- rows

  feed(r: JournalRecord): MaybePromise<void> {
    this.rows++;
    this.order.check(r);
    if (isGovernancePhase(r.phase)) return this.onGovernance(r);
    switch (r.phase) {
      case "accepted":
        return this.onAccepted(r);
      case "started":
        return this.onStarted(r);
      case "requeued":
        return this.onRequeued(r);
      case "finished":
        return this.onFinished(r);
      case "replayed":
        return this.replays.replayed(r);
      case "conflict":
        return this.replays.conflict(r);
      default:
        this.findings.expect(false, "lifecycle_order", () => ({ seq: r.seq, commandId: r.commandId, message: `unknown journal phase ${String(r.phase)}`, evidence: { phase: r.phase } }));
    }
  }

  private onAccepted(r: JournalRecord): void {
    const id = r.commandId;
    const known = this.commands.resolve(id, r.seq);
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
    this.commands.admit(r);
    this.admitted++;
    if (this.fromBaseline) this.keys.claim(r);
  }

  /** pending / approval / approved / released / renewed: governance transitions outside the lane. */
  private onGovernance(r: JournalRecord): void {
    const cmd = this.lifecycleTarget(r);
    if (!cmd) return;
    checkTransition(this.findings, r, cmd);
    if (r.phase === "approved" || r.phase === "released") cmd.queuedAt = r.recordedAt;
  }

  private onStarted(r: JournalRecord): void {
    const cmd = this.lifecycleTarget(r);
    if (!cmd) return;
    checkTransition(this.findings, r, cmd);
    checkStart(this.findings, r, cmd);
    for (const dep of cmd.accepted.dependsOn ?? []) checkDependency(this.findings, cmd, dep, this.commands.resolve(dep, r.seq), r, this.opts.checkpoint !== null);
    cmd.status = "running";
    cmd.startedAt = r.recordedAt;
    cmd.startedSeq = r.seq;
    if (isServerLane(r.lane)) {
      if (cmd.marked) this.sessions.closeMark();
      cmd.serverMark = this.sessions.openMark();
      cmd.marked = true;
    }
  }

  private onRequeued(r: JournalRecord): void {
    const cmd = this.lifecycleTarget(r);
    if (!cmd) return;
    checkTransition(this.findings, r, cmd);
    cmd.status = "queued";
    cmd.startedAt = null;
    cmd.startedSeq = null;
    this.releaseMark(cmd);
  }

  /** The open command a started / requeued / governance row is about; reports rows after finished or without accepted. */
  private lifecycleTarget(r: JournalRecord): OpenCommand | undefined {
    const known = this.commands.resolve(r.commandId, r.seq);
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
    const known = this.commands.resolve(id, r.seq);
    if (known.kind === "done") {
      const first = this.prior.finishedRow(id, r.seq);
      this.findings.expect(false, "one_terminal_outcome", () => ({
        seq: r.seq,
        commandId: id,
        message: `${id} has a second finished row (the first is at seq ${known.seq})`,
        evidence: { firstFinishedSeq: known.seq, firstOutcome: first ? jsonOrText(first.outcome) : null, secondOutcome: r.outcome ?? null },
      }));
      return;
    }
    checkFinishedStatus(this.findings, r);
    if (known.kind === "unknown") {
      this.findings.expect(false, "one_terminal_outcome", () => ({
        seq: r.seq,
        commandId: id,
        message: `finished row for ${id}, which was never admitted (no accepted row)`,
        evidence: { outcome: r.outcome ?? null },
      }));
      this.versions.step(r, null);
      return;
    }
    const cmd = known.cmd;
    checkTransition(this.findings, r, cmd);
    if (r.outcome) checkOutcomeAgainstStart(this.findings, r, r.outcome, cmd);
    const subject = { accepted: cmd.accepted, finished: r, running: cmd.status === "running", serverMark: cmd.marked ? cmd.serverMark : -1 };
    return chain(this.reexec.check(subject), () => this.afterFinished(r, cmd));
  }

  private afterFinished(r: JournalRecord, cmd: OpenCommand): void {
    this.versions.step(r, cmd.accepted.recordedAt);
    if (this.fromBaseline) this.keys.finish(cmd.accepted, r);
    this.table.command(cmd, r);
    this.commands.finish(r);
    this.releaseMark(cmd);
  }

  private releaseMark(cmd: OpenCommand): void {
    if (!cmd.marked) return;
    cmd.marked = false;
    cmd.serverMark = -1;
    this.sessions.closeMark();
  }

  // ---------------------------------------------------------------- end of scan

  finish(reachedEnd: boolean): AuditorResult {
    const ids: string[] = [];
    let count = 0;
    for (const [id, cmd] of this.commands.unfinished()) {
      if (reachedEnd) {
        const row = this.table.commandRow(id);
        if (row && row.outcome !== null) {
          this.findings.expect(false, "one_terminal_outcome", () => ({
            seq: cmd.accepted.seq,
            commandId: id,
            message: `${id} has a terminal commands row (${row.status}, finished_seq ${String(row.finished_seq)}) but no finished row in the journal`,
            evidence: { table: { status: row.status, finishedSeq: row.finished_seq, outcome: jsonOrText(row.outcome) } },
          }));
          continue;
        }
        this.table.command(cmd, undefined, row);
      }
      count++;
      if (ids.length < UNFINISHED_IDS_MAX) ids.push(id);
    }
    if (reachedEnd) this.compareTables();
    return { checkedRows: this.rows, commands: this.admitted, unfinished: { count, ids, truncated: count > ids.length } };
  }

  /** materialized_tables at the end of a scan that reached the end of the journal. */
  private compareTables(): void {
    const complete = this.fromBaseline && !this.filtered;
    this.table.sessions(this.sessions, complete ? (this.opts.checkpoint ? "live" : "all") : "none");
    this.table.lanes(this.order.heads, complete);
    if (this.fromBaseline) {
      const inScope = new Map([...this.keys.entries].filter(([, e]) => this.inScope(e.scope)));
      this.table.keys(inScope, complete && !this.opts.checkpoint);
    }
    if (complete) this.table.commandCount(this.opts.baselineSeq, this.admitted, (id) => this.commands.has(id));
  }
}
