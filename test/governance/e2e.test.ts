/**
 * Governance acceptance (issue #5), end to end over WebSocket against the real server with three
 * approving identities (alice admin, bob and carol approvers) and dave (no roles), under
 * fixtures/governance/policy.test.json.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CausewayClient } from "../helpers/ws-client.js";
import { canTransition } from "../../src/lifecycle/transitions.js";
import type { CommandStatus } from "../../src/lifecycle/status.js";
import { spawnSync } from "node:child_process";
import { CLI } from "../helpers/spawn.js";
import { journalRows, send, sendPending, startGoverned, type Governed } from "./harness.js";

let g: Governed;
let alice: CausewayClient;
let bob: CausewayClient;
let carol: CausewayClient;
let dave: CausewayClient;
let n = 0;
const uid = (p: string): string => `${p}-${++n}`;

async function session(version = 0): Promise<string> {
  const sid = uid("s");
  expect((await send(alice, { type: "create_session", sessionId: sid })).success).toBe(true);
  for (let i = 0; i < version; i++) expect((await send(alice, { type: "set", sessionId: sid, path: "/i", value: i })).success).toBe(true);
  return sid;
}

beforeAll(async () => {
  g = await startGoverned();
  [alice, bob, carol, dave] = await Promise.all([g.connect("alice"), g.connect("bob"), g.connect("carol"), g.connect("dave")]);
});

let stopped = false;
afterAll(async () => {
  if (!stopped) await g?.stop();
});

describe("governed commands over WebSocket", () => {
  it("delete_session needs two approvers; one approval per actor; the requester hears back only when it is terminal", async () => {
    const sid = await session();
    const { pending, response } = await sendPending(alice, { type: "delete_session", sessionId: sid, id: uid("del") });
    const id = (pending.data as { commandId: string }).commandId;
    expect(pending.data).toMatchObject({ reason: "approval", status: "pending", revision: 1, requirements: { steps: [{ approvals: 2, approverRoles: ["approver"] }], approvals: 0 } });
    expect((pending.data as { expiresAt: number }).expiresAt).toBeGreaterThan(Date.now() + 3_500_000);

    // pending: get_command shows it, list_pending lists it, the session still exists
    const got = await send(bob, { type: "get_command", commandId: id });
    expect(got.data.command.status).toBe("pending");
    expect(got.data.governance).toMatchObject({ pendingReason: "approval", revision: 1, policyVersion: expect.stringMatching(/^sha256:/) });
    const listed = await send(bob, { type: "list_pending", reason: "approval" });
    expect(listed.data.pending.map((p: { commandId: string }) => p.commandId)).toContain(id);

    const first = await send(bob, { type: "approve_command", commandId: id, comment: "looks right" });
    expect(first.data).toMatchObject({ status: "pending", approvals: 1, revision: 2 });
    const twice = await send(bob, { type: "approve_command", commandId: id });
    expect(twice).toMatchObject({ success: false, code: "forbidden" });
    expect(twice.error).toMatch(/already approved/);

    const second = await send(carol, { type: "approve_command", commandId: id });
    expect(second.data).toMatchObject({ status: "approved", approvals: 2 });
    const final = await response;
    expect(final).toMatchObject({ success: true, id });
    expect((await send(alice, { type: "get_state", sessionId: sid })).code).toBe("session_not_found");

    const detail = (await send(dave, { type: "get_command", commandId: id })).data;
    expect(detail.command.status).toBe("succeeded");
    expect(detail.governance.decisions.map((d: { kind: string; actor: string }) => `${d.kind}:${d.actor}`)).toEqual(["approve:bob", "approve:carol", "approved:carol"]);
    expect(detail.governance.decisions[0]).toMatchObject({ comment: "looks right", revision: 2 });
    // history filters on approver and status
    const byApprover = await send(dave, { type: "get_command_history", approver: "carol", commandType: "delete_session" });
    expect(byApprover.data.items.map((i: { commandId: string }) => i.commandId)).toContain(id);
  });

  it("the role gate refuses delete_session from a non-admin with forbidden, before anything is journaled", async () => {
    const sid = await session();
    const id = uid("del-bob");
    const r = await send(bob, { type: "delete_session", sessionId: sid, id });
    expect(r).toMatchObject({ success: false, code: "forbidden" });
    expect((await send(bob, { type: "get_command", commandId: id })).data.found).toBe(false);
  });

  it("refuses self-approval and an approver without the step's role; the requester may cancel", async () => {
    const sid = await session();
    const { pending, response } = await sendPending(bob, { type: "set", sessionId: sid, path: "/x", value: 1, tags: ["risk:high"], id: uid("risky") });
    const id = (pending.data as { commandId: string }).commandId;
    const self = await send(bob, { type: "approve_command", commandId: id });
    expect(self).toMatchObject({ success: false, code: "forbidden" });
    expect(self.error).toMatch(/requested this command/);
    const wrongRole = await send(dave, { type: "approve_command", commandId: id });
    expect(wrongRole).toMatchObject({ success: false, code: "forbidden" });
    expect(wrongRole.error).toMatch(/role approver/);
    // dave is neither the requester nor an admin
    expect(await send(dave, { type: "cancel_command", commandId: id })).toMatchObject({ success: false, code: "forbidden" });
    expect((await send(bob, { type: "cancel_command", commandId: id, reason: "changed my mind" })).data).toMatchObject({ status: "cancelled" });
    expect(await response).toMatchObject({ success: false, code: "cancelled" });
    // decisions after a terminal state are conflicts naming the status and revision
    const late = await send(carol, { type: "approve_command", commandId: id });
    expect(late).toMatchObject({ success: false, code: "transition_conflict", data: { status: "cancelled" } });
  });

  it("a pending command does not block its lane; an approval against an old version is rejected as stale", async () => {
    const sid = await session();
    const { pending, response } = await sendPending(alice, { type: "set", sessionId: sid, path: "/guarded", value: true, tags: ["risk:high"], id: uid("stale") });
    const id = (pending.data as { commandId: string }).commandId;
    // the lane moves on while the governed command waits for approval
    const behind = await send(alice, { type: "set", sessionId: sid, path: "/other", value: 1 });
    expect(behind).toMatchObject({ success: true, sessionVersion: 1 });
    await send(bob, { type: "approve_command", commandId: id });
    await send(carol, { type: "approve_command", commandId: id });
    const final = await response;
    expect(final).toMatchObject({ success: false, code: "version_conflict", sessionVersion: 1 });
    expect(final.error).toMatch(/stale/);
    expect((await send(alice, { type: "get_state", sessionId: sid })).data.state).toEqual({ other: 1 });
  });

  it("onStale renew returns the command to pending with every approval cleared, and the new round runs it", async () => {
    const sid = await session();
    const { pending, response } = await sendPending(alice, { type: "set", sessionId: sid, path: "/renewed", value: 1, tags: ["renewable"], id: uid("renew") });
    const id = (pending.data as { commandId: string }).commandId;
    await send(bob, { type: "approve_command", commandId: id });
    await send(alice, { type: "set", sessionId: sid, path: "/bump", value: 1 });
    const renewedEvent = alice.waitNext((f) => f.type === "command_pending" && (f.data as { commandId: string }).commandId === id);
    await send(carol, { type: "approve_command", commandId: id });
    const renewed = (await renewedEvent).data as { requirements: { approvals: number }; revision: number };
    expect(renewed.requirements.approvals).toBe(0);
    const state = (await send(bob, { type: "get_command", commandId: id })).data.governance;
    expect(state.pendingReason).toBe("approval");
    expect(state.state).toMatchObject({ approvals: [], expectedVersion: 1, renewals: 1 });
    expect(state.decisions.map((d: { kind: string }) => d.kind)).toEqual(["approve", "approve", "approved", "renew"]);
    // the earlier approvers may approve again in the new round
    await send(bob, { type: "approve_command", commandId: id });
    await send(carol, { type: "approve_command", commandId: id });
    expect(await response).toMatchObject({ success: true, sessionVersion: 2 });
  });

  it("onStale revalidate runs an approval given against an old version on the latest state, and records that", async () => {
    const sid = await session();
    const { pending, response } = await sendPending(alice, { type: "set", sessionId: sid, path: "/checked", value: true, tags: ["revalidate"], id: uid("reval") });
    const id = (pending.data as { commandId: string }).commandId;
    await send(alice, { type: "set", sessionId: sid, path: "/moved", value: 1 });
    await send(bob, { type: "approve_command", commandId: id });
    expect(await response).toMatchObject({ success: true, sessionVersion: 2 });
    expect((await send(alice, { type: "get_state", sessionId: sid })).data.state).toEqual({ moved: 1, checked: true });
    const trace = (await send(alice, { type: "get_command", commandId: id })).data.trace as Array<{ phase: string; detail?: Record<string, unknown> }>;
    expect(trace.find((t) => t.phase === "started")?.detail).toMatchObject({ revalidated: true, stale: { expectedVersion: 0, sessionVersion: 1, onStale: "revalidate" } });
  });

  it("history filters by tag, pending reason and status", async () => {
    const sid = await session();
    const { pending } = await sendPending(bob, { type: "set", sessionId: sid, path: "/t", value: 1, tags: ["risk:high", "team:x"], id: uid("tagged") });
    const id = (pending.data as { commandId: string }).commandId;
    const ids = async (q: Record<string, unknown>): Promise<string[]> => (await send(dave, { type: "get_command_history", ...q })).data.items.map((i: { commandId: string }) => i.commandId);
    expect(await ids({ tag: "team:x" })).toEqual([id]);
    expect(await ids({ status: "pending", pendingReason: "approval", sessionIdFilter: sid })).toEqual([id]);
    expect(await ids({ tag: "team:x", status: "succeeded" })).toEqual([]);
    await send(bob, { type: "cancel_command", commandId: id });
    expect(await ids({ tag: "team:x", status: "cancelled" })).toEqual([id]);
  });

  it("an unapproved command expires on its timer", async () => {
    const sid = await session();
    const { pending, response } = await sendPending(bob, { type: "set", sessionId: sid, path: "/x", value: 1, tags: ["quick"], id: uid("quick") });
    const id = (pending.data as { commandId: string }).commandId;
    await send(carol, { type: "approve_command", commandId: id });
    const final = await response;
    expect(final).toMatchObject({ success: false, code: "expired" });
    const detail = (await send(bob, { type: "get_command", commandId: id })).data;
    expect(detail.command.status).toBe("expired");
    expect(detail.governance.decisions.map((d: { kind: string; actor: string }) => `${d.kind}:${d.actor}`)).toEqual(["approve:carol", "expire:system"]);
  });

  it("supersedes replaces a pending command of the same session and type, and refuses a mismatch", async () => {
    const sid = await session();
    const first = await sendPending(bob, { type: "set", sessionId: sid, path: "/v", value: 1, tags: ["risk:high"], id: uid("sup-a") });
    const aId = (first.pending.data as { commandId: string }).commandId;
    const mismatch = await send(bob, { type: "patch", sessionId: sid, ops: [], tags: ["risk:high"], supersedes: aId });
    expect(mismatch).toMatchObject({ success: false, code: "supersede_mismatch" });
    const second = await sendPending(bob, { type: "set", sessionId: sid, path: "/v", value: 2, tags: ["risk:high"], supersedes: aId, id: uid("sup-b") });
    expect(await first.response).toMatchObject({ success: false, code: "superseded" });
    const bId = (second.pending.data as { commandId: string }).commandId;
    const listed = (await send(bob, { type: "list_pending", sessionId: sid })).data.pending.map((p: { commandId: string }) => p.commandId);
    expect(listed).toEqual([bId]);
    await send(carol, { type: "approve_command", commandId: bId });
    await send(alice, { type: "cancel_command", commandId: bId, reason: "admin cleanup" });
    expect(await second.response).toMatchObject({ success: false, code: "cancelled" });
  });

  it("ordered steps: the second step opens only when the first has its quorum, and needs its own role", async () => {
    const sid = await session();
    const { pending, response } = await sendPending(bob, { type: "set", sessionId: sid, path: "/s", value: 1, tags: ["two-steps"], id: uid("steps") });
    const id = (pending.data as { commandId: string }).commandId;
    expect((await send(alice, { type: "approve_command", commandId: id })).code).toBe("forbidden"); // step 1 needs approver
    expect((await send(carol, { type: "approve_command", commandId: id })).data).toMatchObject({ status: "pending", step: 1 });
    expect((await send(dave, { type: "approve_command", commandId: id })).code).toBe("forbidden"); // step 2 needs admin
    expect((await send(alice, { type: "approve_command", commandId: id })).data).toMatchObject({ status: "approved" });
    expect(await response).toMatchObject({ success: true });
  });

  it("a scheduled command is pending with reason schedule, and runs at notBefore", async () => {
    const sid = await session();
    const notBefore = Date.now() + 300;
    const { pending, response } = await sendPending(dave, { type: "set", sessionId: sid, path: "/later", value: 1, notBefore, id: uid("sched") });
    expect(pending.data).toMatchObject({ reason: "schedule", notBefore });
    const final = await response;
    expect(final).toMatchObject({ success: true });
    const detail = (await send(dave, { type: "get_command", commandId: (pending.data as { commandId: string }).commandId })).data;
    expect(detail.command.startedAt).toBeGreaterThanOrEqual(notBefore);
  });

  it("a deny rule refuses with forbidden and its reason", async () => {
    const r = await send(alice, { type: "set", sessionId: "frozen-1", path: "/x", value: 1 });
    expect(r).toMatchObject({ success: false, code: "forbidden" });
    expect(r.error).toMatch(/frozen sessions are read-only/);
  });

  it("every status change in the journal is an edge of the transition table, with revisions +1", () => {
    const rows = journalRows(g.db);
    const byCommand = new Map<string, typeof rows>();
    for (const r of rows) if (r.phase !== "replayed" && r.phase !== "conflict") byCommand.set(r.command_id, [...(byCommand.get(r.command_id) ?? []), r]);
    expect(byCommand.size).toBeGreaterThan(10);
    for (const [id, trail] of byCommand) {
      expect(trail[0]!.phase, id).toBe("accepted");
      let status: CommandStatus = "queued";
      let revision = 0;
      for (const r of trail.slice(1)) {
        expect(canTransition(status, r.status as CommandStatus), `${id}: ${status} → ${r.status}`).toBe(true);
        expect(r.revision, `${id} revision`).toBe(revision + 1);
        status = r.status as CommandStatus;
        revision = r.revision!;
      }
      expect(trail.filter((r) => r.phase === "finished").length, id).toBeLessThanOrEqual(1);
    }
  });

  it("causeway audit passes on the governed journal: every transition checked against the table", async () => {
    await g.stop();
    stopped = true;
    const out = spawnSync(process.execPath, [CLI, "audit", "--db", g.db], { encoding: "utf8" });
    expect(out.stdout, out.stderr).toMatch(/result: OK/);
    expect(out.status).toBe(0);
  });
});
