/**
 * Issue #16: the lane rules of src/engine/lanes.ts, in process. A lane is a strict FIFO per key
 * whose head is the one job that may run; a lane exists only while it holds jobs.
 */
import { describe, expect, it } from "vitest";
import { Lane, LaneSet, SERVER_LANE, sessionLane } from "../../src/engine/lanes.js";
import type { Job } from "../../src/engine/job.js";
import { testJob } from "./fixtures.js";

const A = sessionLane("a");

function laneOf(...ids: string[]): { lane: Lane; jobs: Job[] } {
  const lane = new Lane(A);
  const jobs = ids.map((id, i) => testJob({ id, lane: A, acceptedAt: 1_000 + i }));
  lane.queue.push(...jobs);
  return { lane, jobs };
}

describe("#16 lane keys", () => {
  it("a session's lane is session:<id>; the server lane is server", () => {
    expect(sessionLane("s1")).toBe("session:s1");
    expect(sessionLane("")).toBe("session:");
    expect(SERVER_LANE).toBe("server");
  });
});

describe("#16 Lane", () => {
  it("keeps jobs in the order they were queued: the head is the oldest, the next head the one behind it", () => {
    const { lane, jobs } = laneOf("j1", "j2", "j3");
    expect(lane.length).toBe(3);
    expect(lane.head()).toBe(jobs[0]);
    lane.remove(jobs[0]!);
    expect(lane.head()).toBe(jobs[1]);
    lane.remove(jobs[1]!);
    expect(lane.head()).toBe(jobs[2]);
    lane.remove(jobs[2]!);
    expect(lane.head()).toBeUndefined();
    expect(lane.length).toBe(0);
  });

  it("remove takes out only the given job, keeps the others' order, and ignores a job it does not hold", () => {
    const { lane, jobs } = laneOf("j1", "j2", "j3", "j4");
    lane.remove(jobs[2]!);
    expect(lane.queue.map((j) => j.id)).toEqual(["j1", "j2", "j4"]);
    lane.remove(testJob({ id: "elsewhere", lane: A }));
    expect(lane.queue.map((j) => j.id)).toEqual(["j1", "j2", "j4"]);
    lane.remove(jobs[2]!); // twice: still nothing else removed
    expect(lane.length).toBe(3);
  });

  it("remove clears `active` only when the removed job is the active one", () => {
    const { lane, jobs } = laneOf("j1", "j2");
    lane.active = jobs[0]!;
    lane.remove(jobs[1]!);
    expect(lane.active).toBe(jobs[0]);
    lane.remove(jobs[0]!);
    expect(lane.active).toBeNull();
  });

  it("predecessorOf: the job just ahead; none for the head or a job not queued; predecessorOf(null) is the tail", () => {
    const { lane, jobs } = laneOf("j1", "j2", "j3");
    expect(lane.predecessorOf(jobs[2]!)).toBe(jobs[1]);
    expect(lane.predecessorOf(jobs[1]!)).toBe(jobs[0]);
    expect(lane.predecessorOf(jobs[0]!)).toBeUndefined();
    expect(lane.predecessorOf(testJob({ id: "other", lane: A }))).toBeUndefined();
    // a command about to join the lane queues behind the tail
    expect(lane.predecessorOf(null)).toBe(jobs[2]);
    expect(new Lane(A).predecessorOf(null)).toBeUndefined();
  });

  it("inspect: a running head is not queued; the others are listed in lane order, bounded by queuedLimit", () => {
    const { lane, jobs } = laneOf("j1", "j2", "j3");
    const head = jobs[0]!;
    head.status = "running";
    head.startedAt = 1_500;
    lane.active = head;
    const info = lane.inspect(2_000, 1);
    expect(info).toMatchObject({ laneKey: A, depth: 3, queued: 2, runningSince: 1_500, oldestQueuedAgeMs: 999 });
    expect(info.head).toEqual({ commandId: "j1", type: "set", status: "running", acceptedAt: 1_000 });
    expect(info.queue).toEqual([{ commandId: "j2", type: "set", acceptedAt: 1_001, status: "queued" }]);
  });

  it("inspect: a head waiting on a dependency counts as queued and names what it waits on", () => {
    const { lane, jobs } = laneOf("j1", "j2");
    const head = jobs[0]!;
    head.status = "waiting";
    head.waitingOn = "dep-1";
    lane.active = head;
    const info = lane.inspect(1_010, 10);
    expect(info).toMatchObject({ depth: 2, queued: 2, runningSince: null, oldestQueuedAgeMs: 10 });
    expect(info.head).toMatchObject({ commandId: "j1", status: "waiting", waitingOn: "dep-1" });
    expect(info.queue.map((q) => q.commandId)).toEqual(["j1", "j2"]);
    expect(new Lane(A).inspect(0, 10)).toMatchObject({ depth: 0, queued: 0, head: null, runningSince: null, oldestQueuedAgeMs: null, queue: [] });
  });
});

describe("#16 LaneSet", () => {
  it("getOrCreate makes one lane per key and returns the same lane afterwards; get never creates", () => {
    const lanes = new LaneSet();
    expect(lanes.get(A)).toBeUndefined();
    const a = lanes.getOrCreate(A);
    expect(a.key).toBe(A);
    expect(lanes.getOrCreate(A)).toBe(a);
    expect(lanes.get(A)).toBe(a);
    const server = lanes.getOrCreate(SERVER_LANE);
    expect(server).not.toBe(a);
    expect(lanes.all()).toEqual([a, server]);
    expect(lanes.get("session:b")).toBeUndefined();
    expect(lanes.all()).toHaveLength(2);
  });

  it("queueLength counts a lane's jobs (its head included), 0 for a lane that does not exist, without creating it", () => {
    const lanes = new LaneSet();
    expect(lanes.queueLength(A)).toBe(0);
    expect(lanes.get(A)).toBeUndefined();
    const a = lanes.getOrCreate(A);
    a.queue.push(testJob({ id: "j1", lane: A }), testJob({ id: "j2", lane: A }));
    a.active = a.head()!;
    expect(lanes.queueLength(A)).toBe(2);
    lanes.getOrCreate(SERVER_LANE).queue.push(testJob({ id: "s1", lane: SERVER_LANE }));
    expect(lanes.queueLength(SERVER_LANE)).toBe(1);
    expect(lanes.queueLength(A)).toBe(2);
  });

  it("dropIfEmpty drops a lane only when it holds no job, has none active and is not being pumped", () => {
    const lanes = new LaneSet();
    const a = lanes.getOrCreate(A);
    const job = testJob({ id: "j1", lane: A });
    a.queue.push(job);
    lanes.dropIfEmpty(a);
    expect(lanes.get(A)).toBe(a);

    a.remove(job);
    a.active = job; // taken up (running) but already out of the queue
    lanes.dropIfEmpty(a);
    expect(lanes.get(A)).toBe(a);

    a.active = null;
    a.pumping = true;
    lanes.dropIfEmpty(a);
    expect(lanes.get(A)).toBe(a);

    a.pumping = false;
    lanes.dropIfEmpty(a);
    expect(lanes.get(A)).toBeUndefined();
    expect(lanes.all()).toEqual([]);
    // the key comes back as a fresh lane
    const again = lanes.getOrCreate(A);
    expect(again).not.toBe(a);
    expect(again.length).toBe(0);
  });

  it("clear forgets every lane", () => {
    const lanes = new LaneSet();
    lanes.getOrCreate(A).queue.push(testJob({ id: "j1", lane: A }));
    lanes.getOrCreate(SERVER_LANE);
    lanes.clear();
    expect(lanes.all()).toEqual([]);
    expect(lanes.queueLength(A)).toBe(0);
  });
});
