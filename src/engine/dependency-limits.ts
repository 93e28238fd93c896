/**
 * Bounds on dependency waits, in one place. A command at its lane head whose
 * dependency is unfinished in another lane holds its lane for up to `dependencyWaitMs`; chained,
 * such waits could starve a session for hours. At admission:
 *
 * - **who**: with authentication, a command with a non-empty `dependsOn` in lane `session:X` is
 *   refused `forbidden` unless the actor may write session X: the policy does not deny its roles a
 *   `set` on X (a `require_approval` verdict counts as allowed). Without authentication every
 *   client is the local actor and this rule does not apply;
 * - **how many**: a command that *may wait* (a dependency that is, at admission, unknown or
 *   unfinished in another lane) is refused `busy` when its lane already holds
 *   `maxDependencyWaitersPerLane` such commands that have not started (queued, waiting at the head,
 *   or pending approval / schedule). Dependencies that are finished or in the same lane never wait
 *   (FIFO), so pipelined same-lane chains are not counted. A command therefore waits behind at most
 *   `maxDependencyWaitersPerLane × dependencyWaitMs` of dependency waits in its lane.
 */
import type { Policy } from "../governance/policy.js";
import { failure } from "../protocol/frames.js";
import type { Outcome } from "../protocol/types.js";
import type { Job } from "./job.js";
import type { JobTable } from "./jobs.js";

export interface DependentSubmission {
  type: string;
  lane: string;
  /** the session whose lane it runs in; undefined in the server lane */
  sessionId: string | undefined;
  dependsOn: readonly string[];
  actor: string;
  roles: readonly string[];
}

export interface DependencyLimitOptions {
  jobs: JobTable;
  policy: Policy;
  /** clients authenticate (tokens): the write rule applies */
  authenticated: boolean;
  maxDependencyWaitersPerLane: number;
  dependencyWaitMs: number;
}

export class DependencyLimits {
  /** admitted commands that may wait, per lane, until they start or finish */
  private readonly waiters = new Map<string, Set<Job>>();

  constructor(private readonly o: DependencyLimitOptions) {}

  /** The refusal of a command with dependencies, or null; `mayWait` tells the caller to `track` it once admitted. */
  check(cmd: DependentSubmission): { refusal: Outcome | null; mayWait: boolean } {
    if (cmd.dependsOn.length === 0) return { refusal: null, mayWait: false };
    if (this.o.authenticated && cmd.sessionId !== undefined) {
      const verdict = this.o.policy.evaluate({ type: "set", sessionId: cmd.sessionId, tags: [], roles: cmd.roles });
      if (verdict.effect === "deny") {
        const why = `${cmd.actor} may not queue a command with dependsOn in lane ${cmd.lane}: only actors allowed to write session ${cmd.sessionId} may make its lane wait, and the policy denies ${cmd.actor} a set there: ${verdict.reason} (policy rule ${verdict.rule})`;
        return { refusal: failure(cmd.type, "forbidden", why), mayWait: false };
      }
    }
    const mayWait = this.mayWait(cmd.lane, cmd.dependsOn);
    const limit = this.o.maxDependencyWaitersPerLane;
    if (mayWait && this.count(cmd.lane) >= limit) {
      const why = `lane ${cmd.lane} already holds ${limit} commands that may wait for a dependency in another lane (maxDependencyWaitersPerLane); each may hold the lane for up to dependencyWaitMs (${this.o.dependencyWaitMs} ms): retry later`;
      return { refusal: failure(cmd.type, "busy", why), mayWait };
    }
    return { refusal: null, mayWait };
  }

  /** Can a command of `lane` with these dependencies wait at its lane head? */
  mayWait(lane: string, dependsOn: readonly string[]): boolean {
    return dependsOn.some((id) => {
      const job = this.o.jobs.job(id);
      if (job) return job.status !== "finished" && job.lane !== lane;
      return this.o.jobs.finished(id) === undefined;
    });
  }

  track(job: Job): void {
    let set = this.waiters.get(job.lane);
    if (!set) this.waiters.set(job.lane, (set = new Set()));
    set.add(job);
  }

  /** The job finished (or was dropped). */
  forget(job: Job): void {
    const set = this.waiters.get(job.lane);
    if (set?.delete(job) && set.size === 0) this.waiters.delete(job.lane);
  }

  clear(): void {
    this.waiters.clear();
  }

  /** Commands of `lane` that may wait and have not started (a started one waits no more). */
  private count(lane: string): number {
    const set = this.waiters.get(lane);
    if (!set) return 0;
    for (const job of set) if (job.started || job.status === "finished") set.delete(job);
    if (set.size === 0) this.waiters.delete(lane);
    return set.size;
  }
}
