/**
 * Several nodes on one journal (a store with `ownership`; docs/redis-store.md "Several nodes"):
 * this node runs a command only in a lane it owns.
 *
 * - Admission: a lane nobody alive owns is claimed on the spot; a lane another live node owns is
 *   refused with `not_owner`, naming the owner (and its URL when it advertises one).
 * - Takeover: a claimed lane that still holds unfinished commands (its previous owner died or was
 *   paused past its lease) gets the same verdicts as a restart (recovery.ts: re-queued if never
 *   started, `interrupted` if started unless retryable, pending ones re-armed), and its session and
 *   lane head are read from the journal. A sweep every quarter of the lease time takes over the
 *   lanes dead nodes left with unfinished commands, so they resume without waiting for a client.
 * - Decisions: approve / reject / cancel of a command in a lane another node owns is carried out
 *   by that node (the store's mailbox); the owner's answer is this node's answer.
 */
import { journalStatus } from "../journal/open.js";
import type { LaneClaim, LaneOwnership } from "../journal/types.js";
import { nodeOfServerLane } from "../lifecycle/lanes.js";
import { TERMINAL_STATUSES } from "../lifecycle/status.js";
import { failure } from "../protocol/frames.js";
import type { Outcome } from "../protocol/types.js";
import type { Decider } from "./governor.js";
import type { EngineParts } from "./parts.js";
import { classifyRecovery } from "./recovery.js";
import { resumeLane, type StartupParts } from "./startup.js";
import type { Decision } from "./views.js";

/** A decision forwarded to the lane's owner (the mailbox's message). */
export interface ForwardedDecision {
  kind: "decide";
  decider: Decider;
  decision: Decision;
}

export class Takeover {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly p: EngineParts,
    private readonly s: StartupParts,
    readonly own: LaneOwnership,
  ) {}

  /** May this node run a command of `lane`? null: yes (owned, or claimed and resumed now); the refusal otherwise. */
  admit(command: string, lane: string): Outcome | null {
    if (this.own.owns(lane)) return null;
    const claim = this.claim(lane);
    if (claim.kind === "owned" || claim.kind === "claimed") return null;
    if (claim.kind === "unavailable") return failure(command, "journal_unavailable", `journal unavailable: ${claim.why}`);
    const where = claim.url === null ? "" : ` at ${claim.url}`;
    return failure(command, "not_owner", `lane ${lane} is owned by node ${claim.node}${where}; send the command there`, { data: { lane, owner: claim.node, ownerUrl: claim.url } });
  }

  /**
   * Where a decision on `commandId` is carried out: null here (this node holds it, or nobody alive
   * owns its lane, which this node then takes over), or the owner node's name.
   */
  route(commandId: string): string | null {
    if (this.p.jobs.job(commandId)) return null;
    this.own.catchUp();
    const stored = this.p.store.getCommand(commandId);
    if (!stored || TERMINAL_STATUSES.includes(stored.status) || this.own.owns(stored.lane)) return null;
    // a server lane is its node's for good (taken over by nobody): the decision goes there
    const serverNode = nodeOfServerLane(stored.lane);
    if (serverNode !== null) return serverNode;
    const claim = this.claim(stored.lane);
    return claim.kind === "other" ? claim.node : null;
  }

  /** Forward a decision to `node`; its answer, or a `timeout` failure when none came within a lease time. */
  async forward(node: string, decider: Decider, decision: Decision): Promise<Outcome> {
    const command = `${decision.kind}_command`;
    const ms = this.p.config.redisLeaseTtlMs;
    const message: ForwardedDecision = { kind: "decide", decider: { actor: decider.actor, roles: [...decider.roles] }, decision };
    try {
      return (await this.own.send(node, message, ms)) as Outcome;
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      return failure(command, "timeout", `the decision went to node ${node}, which owns the command's lane, and no answer came (${why}); it may or may not have been carried out: check get_command ${decision.commandId}`);
    }
  }

  /** Claim `lane`; a lane claimed now that holds unfinished commands is resumed here. */
  private claim(lane: string): LaneClaim {
    let claim: LaneClaim;
    try {
      claim = this.own.claim(lane);
    } catch (err) {
      return { kind: "unavailable", why: err instanceof Error ? err.message : String(err) };
    }
    if (claim.kind === "claimed") this.resume(lane, claim);
    return claim;
  }

  private resume(lane: string, claim: Extract<LaneClaim, { kind: "claimed" }>): void {
    const { p } = this;
    const { verdicts, summary } = classifyRecovery(claim.recovered, {
      registry: p.registry,
      failUnstarted: p.config.failUnstartedOnRecovery,
      maxRecoveryAttempts: p.config.limits.maxRecoveryAttempts,
      now: p.now(),
      journal: journalStatus(p.store),
      sessions: claim.recovered.sessions.length,
    });
    resumeLane(p, this.s, claim.recovered, verdicts);
    if (claim.from !== null || verdicts.length > 0) {
      p.log.warn({ lane, from: claim.from, failed: summary.recoveredInFlightFailures, verdicts: verdicts.slice(0, 100).map((v) => ({ commandId: v.command.commandId, kind: v.kind })) }, `took lane ${lane} over${claim.from !== null ? ` from node ${claim.from}` : ""}: ${verdicts.length} unfinished command(s) resumed with restart verdicts`);
    }
  }

  /** Take over, every `intervalMs`, the lanes dead nodes left with unfinished commands. */
  start(intervalMs: number): void {
    this.timer = setInterval(() => this.sweep(), intervalMs);
    this.timer.unref();
  }

  sweep(): void {
    try {
      for (const lane of this.own.orphans()) this.claim(lane);
    } catch (err) {
      this.p.log.error({ err }, "the takeover sweep failed; it runs again");
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
