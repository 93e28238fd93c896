/**
 * dependsOn rules, in one place.
 *
 * At admission: a command that others may wait for, or that waits itself, must not close a cycle
 * in the wait-for graph. Edges: a job waits for each unfinished dependency, and for the job ahead
 * of it in its lane. A cycle is refused with `dependency_cycle` before admission.
 *
 * At the lane head: every dependency must be known and end in success.
 * - unknown → dependency_unknown; finished unsuccessfully → dependency_failed;
 * - unfinished in the same lane → it is queued behind this job → dependency_failed (fails fast);
 * - unfinished in another lane → wait for it (bounded by dependencyWaitMs → dependency_timeout);
 *   on a journal shared by several nodes (`remote`), a dependency the journal holds unfinished but
 *   this node does not run is another node's: wait for the journal to show it finished.
 */
import type { ErrorCode } from "../protocol/errors.js";
import { dependencyFailed, dependencySameLane, dependencyUnknown } from "../protocol/messages.js";
import type { Job } from "./job.js";
import type { JobTable } from "./jobs.js";

export type DependencyVerdict =
  | { kind: "ready" }
  | { kind: "wait"; on: Job }
  | { kind: "remote"; id: string }
  | { kind: "fail"; code: ErrorCode; error: string };

export function resolveDependencies(job: Job, jobs: JobTable, remote = false): DependencyVerdict {
  for (const dep of job.dependsOn) {
    const inflight = jobs.job(dep);
    if (inflight) {
      if (inflight.status === "finished") {
        if (!inflight.outcome?.success) return failed(dep, inflight.outcome?.error);
        continue;
      }
      if (inflight.lane === job.lane) {
        return { kind: "fail", code: "dependency_failed", error: dependencySameLane(dep) };
      }
      return { kind: "wait", on: inflight };
    }
    const done = jobs.finished(dep);
    if (!done && remote && jobs.knownInStore(dep)) return { kind: "remote", id: dep };
    if (!done) return { kind: "fail", code: "dependency_unknown", error: dependencyUnknown(dep) };
    if (!done.success) return failed(dep, done.stored.outcome?.error);
  }
  return { kind: "ready" };
}

function failed(dep: string, error: string | undefined): DependencyVerdict {
  return { kind: "fail", code: "dependency_failed", error: dependencyFailed(dep, error) };
}

/**
 * Would admitting a command (id `newId`, dependencies `deps`, queued behind `laneTail`) close a
 * wait-for cycle? Returns the cycle as a list of ids, or null.
 */
export function findCycle(
  newId: string | undefined,
  newLane: string,
  deps: readonly string[],
  laneTail: Job | undefined,
  jobs: JobTable,
  predecessor: (job: Job) => Job | undefined,
): string[] | null {
  if (newId !== undefined && deps.includes(newId)) return [newId, newId];
  const waiting = newId !== undefined ? jobs.waitersFor(newId) : undefined;
  if (!waiting || waiting.size === 0) return null;
  // A job in the new command's lane that depends on it fails fast (its dependency is queued behind
  // it); it never waits, so it closes no cycle.
  const targets = new Set([...waiting].filter((j) => j.lane !== newLane));
  if (targets.size === 0) return null;
  const parent = new Map<Job, Job | null>();
  const stack: Job[] = [];
  const push = (j: Job | undefined, from: Job | null): void => {
    if (!j || j.status === "finished" || parent.has(j)) return;
    parent.set(j, from);
    stack.push(j);
  };
  // Same-lane dependencies are covered by the lane edge (ahead) or fail fast (behind).
  for (const d of deps) {
    const j = jobs.job(d);
    if (j && j.lane !== newLane) push(j, null);
  }
  push(laneTail, null);
  while (stack.length > 0) {
    const j = stack.pop()!;
    if (targets.has(j)) {
      const path: string[] = [];
      for (let n: Job | null | undefined = j; n; n = parent.get(n)) path.unshift(n.id);
      return [newId!, ...path, newId!];
    }
    for (const d of j.dependsOn) {
      const dj = jobs.job(d);
      if (dj && dj.lane !== j.lane) push(dj, j);
    }
    push(predecessor(j), j);
  }
  return null;
}
