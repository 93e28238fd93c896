/**
 * Execution lanes: strict FIFO per lane key (`session:<id>` or `server`). A lane runs at most one
 * job at a time: the head. Lanes exist only while they hold jobs.
 */
import type { LaneInfo } from "../protocol/snapshots.js";
import type { Job } from "./job.js";

export { SERVER_LANE, sessionLane } from "../lifecycle/lanes.js";

/** A lane's size, for figures: `depth` queued + running commands, `running` its head's handler runs. */
export interface LaneSnapshot {
  key: string;
  depth: number;
  running: boolean;
}

export class Lane {
  readonly queue: Job[] = [];
  /** the head job has been taken up (waiting on a dependency or running) */
  active: Job | null = null;
  pumping = false;
  constructor(readonly key: string) {}

  get length(): number {
    return this.queue.length;
  }

  head(): Job | undefined {
    return this.queue[0];
  }

  /** The job immediately ahead of `job`, or the last job if `job` is not queued. */
  predecessorOf(job: Job | null): Job | undefined {
    if (job === null) return this.queue[this.queue.length - 1];
    const i = this.queue.indexOf(job);
    return i > 0 ? this.queue[i - 1] : undefined;
  }

  /** THE rule for "this lane's head is running": it was taken up and its handler runs. */
  headRunning(): boolean {
    const head = this.queue[0];
    return head !== undefined && this.active === head && head.status === "running";
  }

  /** Size figures; `excluding`: a command id left out when it is this lane's running head (the asking command). */
  snapshot(excluding?: string): LaneSnapshot {
    const running = this.headRunning();
    const self = running && excluding !== undefined && this.queue[0]!.id === excluding ? 1 : 0;
    return { key: this.key, depth: this.queue.length - self, running: running && self === 0 };
  }

  /** A read-only view for operators (`get_lanes`); `queuedLimit` bounds the listed queue. */
  inspect(now: number, queuedLimit: number): LaneInfo {
    const head = this.queue[0];
    const running = this.headRunning();
    const waiting = this.queue.filter((j) => j !== head || !running);
    const oldest = waiting.reduce<number | null>((min, j) => (min === null || j.acceptedAt < min ? j.acceptedAt : min), null);
    return {
      laneKey: this.key,
      depth: this.queue.length,
      queued: waiting.length,
      head: head === undefined ? null : { commandId: head.id, type: head.type, status: head.status, acceptedAt: head.acceptedAt, ...(head.waitingOn !== undefined ? { waitingOn: head.waitingOn } : {}) },
      runningSince: running && head !== undefined ? (head.startedAt ?? null) : null,
      oldestQueuedAgeMs: oldest === null ? null : Math.max(0, now - oldest),
      queue: waiting.slice(0, queuedLimit).map((j) => ({ commandId: j.id, type: j.type, acceptedAt: j.acceptedAt, status: j.status })),
    };
  }

  remove(job: Job): void {
    const i = this.queue.indexOf(job);
    if (i >= 0) this.queue.splice(i, 1);
    if (this.active === job) this.active = null;
  }
}

export class LaneSet {
  private readonly lanes = new Map<string, Lane>();

  get(key: string): Lane | undefined {
    return this.lanes.get(key);
  }

  getOrCreate(key: string): Lane {
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = new Lane(key);
      this.lanes.set(key, lane);
    }
    return lane;
  }

  queueLength(key: string): number {
    return this.lanes.get(key)?.length ?? 0;
  }

  dropIfEmpty(lane: Lane): void {
    if (lane.length === 0 && lane.active === null && !lane.pumping) this.lanes.delete(lane.key);
  }

  all(): Lane[] {
    return [...this.lanes.values()];
  }

  clear(): void {
    this.lanes.clear();
  }
}
