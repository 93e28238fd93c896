/**
 * Pending approvals are durable (issue #5): a restart in the middle of an approval — a clean stop
 * and a kill -9 — keeps the pending command, its approvals and its expiry deadline; the approval
 * completes on the new process and a replay by id attaches to the result.
 */
import { describe, expect, it } from "vitest";
import { IDENTITIES, send, sendPending, startGoverned } from "./harness.js";

describe("a restart in the middle of an approval", () => {
  for (const how of ["SIGTERM", "SIGKILL"] as const) {
    it(`keeps the pending command, its approvals and its expiry deadline (${how})`, async () => {
      const first = await startGoverned();
      const alice = await first.connect("alice");
      await send(alice, { type: "create_session", sessionId: "doomed" });
      const { pending } = await sendPending(alice, { type: "delete_session", sessionId: "doomed", id: "del-doomed" });
      const expiresAt = (pending.data as { expiresAt: number }).expiresAt;
      const bob = await first.connect("bob");
      expect((await send(bob, { type: "approve_command", commandId: "del-doomed", comment: "ok by me" })).data).toMatchObject({ approvals: 1, revision: 2 });
      await first.server.stop(how);

      const second = await startGoverned({ dir: first.dir });
      try {
        const carol = await second.connect("carol");
        const ready = (await carol.waitFor((f) => f.type === "startup_recovery_summary")).data as { pending: { count: number; ids: string[] } };
        expect(ready.pending).toMatchObject({ count: 1, ids: ["del-doomed"] });
        const before = (await send(carol, { type: "get_command", commandId: "del-doomed" })).data;
        expect(before.command.status).toBe("pending");
        expect(before.governance).toMatchObject({ revision: 2, expiresAt, pendingReason: "approval" });
        expect(before.governance.state.approvals).toEqual([expect.objectContaining({ actor: "bob", comment: "ok by me" })]);
        const listed = (await send(carol, { type: "list_pending" })).data.pending;
        expect(listed).toEqual([expect.objectContaining({ commandId: "del-doomed", expiresAt, revision: 2 })]);

        // bob's approval survived: bob cannot approve twice, carol's is the second
        const bob2 = await second.connect("bob");
        expect((await send(bob2, { type: "approve_command", commandId: "del-doomed" })).code).toBe("forbidden");
        // the requester reconnects and replays by id: it attaches to the pending command
        const alice2 = await second.connect("alice");
        const replay = alice2.request({ type: "delete_session", sessionId: "doomed", id: "del-doomed" }, 30_000);
        expect((await send(carol, { type: "approve_command", commandId: "del-doomed" })).data).toMatchObject({ status: "approved" });
        expect(await replay).toMatchObject({ success: true, id: "del-doomed" });
        expect((await send(carol, { type: "get_state", sessionId: "doomed" })).code).toBe("session_not_found");
        expect(IDENTITIES.carol.roles).toContain("approver");
      } finally {
        await second.stop();
      }
    });
  }

  it("expires at startup what came due while the server was down (the sweep)", async () => {
    const first = await startGoverned();
    const bob = await first.connect("bob");
    await send(bob, { type: "create_session", sessionId: "q" });
    const { pending } = await sendPending(bob, { type: "set", sessionId: "q", path: "/x", value: 1, tags: ["quick"], id: "quick-1" });
    await first.server.stop("SIGKILL");
    // the quick rule's deadline (400 ms) passes while no server runs
    const expiresAt = (pending.data as { expiresAt: number }).expiresAt;
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now() + 5)));
    const second = await startGoverned({ dir: first.dir });
    try {
      const carol = await second.connect("carol");
      // the startup sweep journaled the expiry before the server accepted connections
      const detail = (await send(carol, { type: "get_command", commandId: "quick-1" })).data;
      expect(detail.command.status).toBe("expired");
      expect(detail.command.outcome).toMatchObject({ code: "expired" });
    } finally {
      await second.stop();
    }
  });
});
