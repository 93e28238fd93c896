/**
 * Issue #15 item 17: pending commands are bounded. A `notBefore` far in the future (1e300) used to
 * park a command forever, and one actor could fill `maxPending` for everyone, also after a restart.
 * Now: `notBefore` at most maxScheduleAheadMs ahead (invalid_command at admission), at most
 * maxPendingPerActor pending commands per requester (busy), the approval window capped at
 * maxApprovalWindowMs. Real servers, WebSocket and stdio, a real kill -9.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../src/config/defaults.js";
import { startTransport } from "../helpers/transports.js";
import { send, sendPending, startGoverned } from "./harness.js";

const AHEAD = DEFAULT_LIMITS.maxScheduleAheadMs;

describe("#15.17 bounds on pending commands", () => {
  for (const kind of ["websocket", "stdio"] as const) {
    it(`#15.17 a notBefore more than maxScheduleAheadMs ahead is refused at admission with invalid_command and nothing is journaled (${kind})`, async () => {
      const server = await startTransport(kind);
      try {
        const c = server.client;
        expect((await c.request({ type: "create_session", sessionId: "sched" })).success).toBe(true);
        const refused: Array<[string, number]> = [
          ["far", 1e300],
          ["just-beyond", Date.now() + AHEAD + 60_000],
        ];
        for (const [id, notBefore] of refused) {
          const r = await c.request({ type: "set", id, sessionId: "sched", path: "/x", value: 1, notBefore });
          expect(r, id).toMatchObject({ success: false, code: "invalid_command" });
          expect(r.error).toContain(`maxScheduleAheadMs (${AHEAD} ms)`);
          expect((await c.request({ type: "get_command", commandId: id })).data).toEqual({ found: false, commandId: id });
        }
        // within the horizon it is admitted and waits, pending for its schedule
        c.sendRaw({ type: "set", id: "near", sessionId: "sched", path: "/x", value: 1, notBefore: Date.now() + AHEAD - 60_000 });
        await c.waitFor((f) => f.type === "command_pending" && (f.data as { commandId?: string }).commandId === "near");
        const listed = await c.request({ type: "list_pending" });
        expect(listed.data.pending.map((p: { commandId: string }) => p.commandId)).toEqual(["near"]);
      } finally {
        await server.stop();
      }
    });
  }

  it("#15.17 maxPendingPerActor: one actor cannot fill maxPending for everyone, and both quotas hold after a kill -9 restart", async () => {
    const args = ["--max-pending-per-actor", "2", "--max-pending", "3"];
    const later = (): number => Date.now() + 3_600_000;
    const schedule = (id: string) => ({ type: "set", sessionId: "q", path: `/${id}`, value: 1, notBefore: later(), id });
    const first = await startGoverned({ args });
    const alice = await first.connect("alice");
    expect((await send(alice, { type: "create_session", sessionId: "q" })).success).toBe(true);
    await sendPending(alice, schedule("a1"));
    await sendPending(alice, schedule("a2"));
    const mine = await send(alice, schedule("a3"));
    expect(mine).toMatchObject({ success: false, code: "busy" });
    expect(mine.error).toContain("alice already has 2 commands pending (maxPendingPerActor 2)");
    // a command that supersedes one of hers takes its slot
    await sendPending(alice, { ...schedule("a2b"), supersedes: "a2" });
    expect((await send(alice, { type: "get_command", commandId: "a2" })).data.command.status).toBe("superseded");
    // another actor still gets in (pending for approval counts as well as for schedule)
    const bob = await first.connect("bob");
    await sendPending(bob, { type: "set", sessionId: "q", path: "/b1", value: 1, tags: ["risk:high"], id: "b1" });
    const carol = await first.connect("carol");
    const full = await send(carol, schedule("c1"));
    expect(full).toMatchObject({ success: false, code: "busy" });
    expect(full.error).toContain("(maxPending)");
    await first.server.stop("SIGKILL");

    const second = await startGoverned({ dir: first.dir, args });
    try {
      const alice2 = await second.connect("alice");
      const summary = (await alice2.waitFor((f) => f.type === "startup_recovery_summary")).data as { pending: { count: number } };
      expect(summary.pending.count).toBe(3);
      // the counts were rebuilt from the journal
      const again = await send(alice2, schedule("a3"));
      expect(again).toMatchObject({ success: false, code: "busy" });
      expect(again.error).toContain("maxPendingPerActor 2");
      const bob2 = await second.connect("bob");
      expect((await send(bob2, schedule("b2"))).error).toContain("(maxPending)");
      // a decision frees a slot
      expect((await send(alice2, { type: "cancel_command", commandId: "a1" })).success).toBe(true);
      await sendPending(alice2, schedule("a3"));
      expect((await send(alice2, { type: "list_pending" })).data.total).toBe(3);
    } finally {
      await second.stop();
    }
  });

  it("#15.17 a policy's approval window (expiresInMs) is capped at maxApprovalWindowMs", async () => {
    const g = await startGoverned({ args: ["--max-approval-window-ms", "60000"] });
    try {
      const alice = await g.connect("alice");
      expect((await send(alice, { type: "create_session", sessionId: "w" })).success).toBe(true);
      const before = Date.now();
      // the policy asks for an hour (defaults.expiresInMs 3600000)
      const { pending } = await sendPending(alice, { type: "delete_session", sessionId: "w", id: "del-w" });
      const after = Date.now();
      const expiresAt = (pending.data as { expiresAt: number }).expiresAt;
      expect(expiresAt).toBeGreaterThanOrEqual(before + 60_000);
      expect(expiresAt).toBeLessThanOrEqual(after + 60_000);
    } finally {
      await g.stop();
    }
  });
});
