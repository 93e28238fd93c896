/**
 * Issue #16: the dependsOn rules of src/engine/dependencies.ts, in process, over a real JobTable
 * (jobs in flight in memory, finished commands in a real SqliteStore).
 * - resolveDependencies: the verdict at the lane head (ready / wait / fail with its code);
 * - findCycle: would admitting a command close a wait-for cycle (dependency and lane edges)?
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { findCycle, resolveDependencies } from "../../src/engine/dependencies.js";
import type { Job } from "../../src/engine/job.js";
import { JobTable } from "../../src/engine/jobs.js";
import { LaneSet, sessionLane } from "../../src/engine/lanes.js";
import { dependencyFailed, dependencySameLane, dependencyUnknown } from "../../src/protocol/messages.js";
import { TestJournal, testJob } from "./fixtures.js";

const A = sessionLane("a");
const B = sessionLane("b");
const C = sessionLane("c");

let journal: TestJournal;
let jobs: JobTable;
let lanes: LaneSet;

beforeEach(() => {
  journal = new TestJournal();
  jobs = new JobTable(journal.store, 100);
  lanes = new LaneSet();
});
afterEach(() => journal.store.close());

/** Admit a job the way the engine does: into the job table and at the tail of its lane. */
function admit(init: Partial<Job> & { id: string; lane: string }): Job {
  const job = testJob(init);
  jobs.add(job);
  lanes.getOrCreate(job.lane).queue.push(job);
  return job;
}

const head = (id: string, lane: string, dependsOn: string[]): Job => testJob({ id, lane, dependsOn });
const predecessor = (j: Job): Job | undefined => lanes.get(j.lane)?.predecessorOf(j);
const cycle = (newId: string | undefined, lane: string, deps: string[]): string[] | null =>
  findCycle(newId, lane, deps, lanes.get(lane)?.predecessorOf(null), jobs, predecessor);

describe("#16 resolveDependencies", () => {
  it("no dependencies: ready", () => {
    expect(resolveDependencies(head("x", A, []), jobs)).toEqual({ kind: "ready" });
  });

  it("a dependency nobody knows (not in flight, not journaled) fails with dependency_unknown", () => {
    expect(resolveDependencies(head("x", A, ["ghost"]), jobs)).toEqual({ kind: "fail", code: "dependency_unknown", error: dependencyUnknown("ghost") });
  });

  it("a journaled dependency that succeeded is satisfied; one that failed fails with dependency_failed and its error", () => {
    journal.finished("ok", "b", { command: "set", success: true, sessionVersion: 1 });
    journal.finished("bad", "b", { command: "set", success: false, code: "handler_error", error: "boom" });
    expect(resolveDependencies(head("x", A, ["ok"]), jobs)).toEqual({ kind: "ready" });
    expect(resolveDependencies(head("y", A, ["bad"]), jobs)).toEqual({ kind: "fail", code: "dependency_failed", error: dependencyFailed("bad", "boom") });
    expect(dependencyFailed("bad", "boom")).toContain("boom");
  });

  it("a dependency still in memory but finished: success is satisfied, failure fails with its error", () => {
    admit({ id: "done-ok", lane: B, status: "finished", outcome: { command: "set", success: true } });
    admit({ id: "done-bad", lane: B, status: "finished", outcome: { command: "set", success: false, code: "timeout", error: "too slow" } });
    expect(resolveDependencies(head("x", A, ["done-ok"]), jobs)).toEqual({ kind: "ready" });
    expect(resolveDependencies(head("y", A, ["done-bad"]), jobs)).toEqual({ kind: "fail", code: "dependency_failed", error: dependencyFailed("done-bad", "too slow") });
  });

  it.each(["queued", "waiting", "running"] as const)("an unfinished (%s) dependency in another lane: wait for that job", (status) => {
    const dep = admit({ id: "other", lane: B, status });
    const verdict = resolveDependencies(head("x", A, ["other"]), jobs);
    expect(verdict).toEqual({ kind: "wait", on: dep });
    if (verdict.kind === "wait") expect(verdict.on).toBe(dep);
  });

  it("an unfinished dependency in the same lane (queued behind the head) fails fast with dependency_failed", () => {
    admit({ id: "behind", lane: A });
    expect(resolveDependencies(head("x", A, ["behind"]), jobs)).toEqual({ kind: "fail", code: "dependency_failed", error: dependencySameLane("behind") });
  });

  it("dependencies are checked in order: the first one not satisfied decides", () => {
    journal.finished("ok", "b", { command: "set", success: true });
    const running = admit({ id: "running", lane: B, status: "running" });
    expect(resolveDependencies(head("x", A, ["ok", "running", "ghost"]), jobs)).toEqual({ kind: "wait", on: running });
    expect(resolveDependencies(head("y", A, ["ok", "ghost", "running"]), jobs)).toMatchObject({ kind: "fail", code: "dependency_unknown" });
  });
});

describe("#16 findCycle", () => {
  it("a command that depends on its own id is a cycle of one", () => {
    expect(cycle("n", A, ["n"])).toEqual(["n", "n"]);
  });

  it("no cycle when nothing waits for the new command, or when it has no id to wait for", () => {
    admit({ id: "a1", lane: A });
    admit({ id: "b1", lane: B, dependsOn: ["a1"] });
    expect(cycle("n", C, ["a1", "b1"])).toBeNull();
    expect(cycle(undefined, C, ["a1"])).toBeNull();
  });

  it("a dependency on a job that waits (in another lane) for the new command closes a cycle", () => {
    admit({ id: "b1", lane: B, dependsOn: ["n"] });
    expect(cycle("n", A, ["b1"])).toEqual(["n", "b1", "n"]);
  });

  it("the lane edge: queued behind a job that waits for a waiter of the new command", () => {
    admit({ id: "b1", lane: B, dependsOn: ["n"] });
    admit({ id: "a1", lane: A, dependsOn: ["b1"] });
    // n joins lane a behind a1: n → a1 (lane) → b1 (dependency) → n
    expect(cycle("n", A, [])).toEqual(["n", "a1", "b1", "n"]);
  });

  it("the lane edge in another lane: a dependency queued behind the waiter", () => {
    admit({ id: "b1", lane: B, dependsOn: ["n"] });
    admit({ id: "b2", lane: B });
    // n → b2 (dependency) → b1 (ahead of b2 in lane b) → n
    expect(cycle("n", A, ["b2"])).toEqual(["n", "b2", "b1", "n"]);
  });

  it("a waiter in the new command's own lane closes no cycle (it fails fast instead of waiting)", () => {
    const a1 = admit({ id: "a1", lane: A, dependsOn: ["n"] });
    expect(cycle("n", A, [])).toBeNull();
    // admitted behind a1, n is what a1 fails fast on when it reaches the head
    admit({ id: "n", lane: A });
    expect(resolveDependencies(a1, jobs)).toEqual({ kind: "fail", code: "dependency_failed", error: dependencySameLane("n") });
  });

  it("a finished job is no edge: the path through it is not followed", () => {
    admit({ id: "b1", lane: B, dependsOn: ["n"] });
    admit({ id: "c1", lane: C, dependsOn: ["b1"], status: "finished", outcome: { command: "set", success: true } });
    expect(cycle("n", A, ["c1"])).toBeNull();
    // the same path with c1 unfinished is a cycle
    admit({ id: "c2", lane: C, dependsOn: ["b1"] });
    expect(cycle("n", A, ["c2"])).toEqual(["n", "c2", "b1", "n"]);
  });
});
