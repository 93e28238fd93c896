/**
 * Issue #14 §1: delete_session names its session, so governance sees it by that session id:
 * policies match it, list_pending filters by it, supersedes checks it, and an approved delete is
 * checked for staleness at its lane head. Real server, real tokens, fixtures/governance/policy.example.json
 * (delete_session is admin-only and needs two approvals; frozen-* sessions are read-only).
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CausewayClient } from "../helpers/ws-client.js";
import { ROOT } from "../helpers/spawn.js";
import { send, sendPending, startGoverned, type Governed } from "./harness.js";

const EXAMPLE_POLICY = join(ROOT, "fixtures/governance/policy.example.json");

let g: Governed;
let alice: CausewayClient;
let bob: CausewayClient;
let carol: CausewayClient;

beforeAll(async () => {
  g = await startGoverned({ policy: EXAMPLE_POLICY });
  alice = await g.connect("alice");
  bob = await g.connect("bob");
  carol = await g.connect("carol");
});

afterAll(async () => {
  await g?.stop();
});

describe("delete_session under governance (#14 §1)", () => {
  it("#14.1 a deny rule matching sessionId applies to delete_session", async () => {
    expect(await send(alice, { type: "create_session", sessionId: "frozen-1" })).toMatchObject({ success: true });
    const del = await send(alice, { type: "delete_session", sessionId: "frozen-1" });
    expect(del).toMatchObject({ success: false, code: "forbidden" });
    expect(del.error).toMatch(/frozen sessions are read-only/);
    expect(await send(alice, { type: "get_state", sessionId: "frozen-1" })).toMatchObject({ success: true });
  });

  it("#14.1 list_pending filtered by session finds a pending delete of that session", async () => {
    await send(alice, { type: "create_session", sessionId: "gdel-1" });
    await send(alice, { type: "create_session", sessionId: "gdel-other" });
    const { pending } = await sendPending(alice, { type: "delete_session", id: "gdel-1-del", sessionId: "gdel-1" });
    expect(pending.data).toMatchObject({ commandId: "gdel-1-del", sessionId: "gdel-1", reason: "approval" });
    const mine = await send(alice, { type: "list_pending", sessionId: "gdel-1" });
    expect(mine.data.pending.map((p: { commandId: string }) => p.commandId)).toEqual(["gdel-1-del"]);
    expect(mine.data.pending[0]).toMatchObject({ type: "delete_session", sessionId: "gdel-1" });
    const other = await send(alice, { type: "list_pending", sessionId: "gdel-other" });
    expect(other.data.pending).toEqual([]);
    expect(await send(alice, { type: "cancel_command", commandId: "gdel-1-del" })).toMatchObject({ success: true });
  });

  it("#14.1 supersedes refuses a delete of another session", async () => {
    await send(alice, { type: "create_session", sessionId: "gdel-2" });
    await send(alice, { type: "create_session", sessionId: "gdel-3" });
    await sendPending(alice, { type: "delete_session", id: "gdel-2-del", sessionId: "gdel-2" });
    const cross = await send(alice, { type: "delete_session", id: "gdel-3-del", sessionId: "gdel-3", supersedes: "gdel-2-del" });
    expect(cross).toMatchObject({ success: false, code: "supersede_mismatch" });
    // the same session may supersede it
    const { pending } = await sendPending(alice, { type: "delete_session", id: "gdel-2-del-b", sessionId: "gdel-2", supersedes: "gdel-2-del" });
    expect(pending.data).toMatchObject({ commandId: "gdel-2-del-b" });
    const old = await send(alice, { type: "get_command", commandId: "gdel-2-del" });
    expect(old.data.command.status).toBe("superseded");
    await send(alice, { type: "cancel_command", commandId: "gdel-2-del-b" });
  });

  it("#14.1 an approved delete is checked for staleness (onStale reject) at its lane head", async () => {
    await send(alice, { type: "create_session", sessionId: "gdel-4" });
    const { pending, response } = await sendPending(alice, { type: "delete_session", id: "gdel-4-del", sessionId: "gdel-4" });
    expect(pending.data.requirements).toMatchObject({ onStale: "reject" });
    const listed = await send(alice, { type: "list_pending", sessionId: "gdel-4" });
    expect(listed.data.pending[0].requirements).toMatchObject({ expectedVersion: 0, onStale: "reject" });
    // the session moves on while the delete waits for approval
    expect(await send(alice, { type: "set", sessionId: "gdel-4", path: "/moved", value: true })).toMatchObject({ success: true, sessionVersion: 1 });
    expect(await send(bob, { type: "approve_command", commandId: "gdel-4-del" })).toMatchObject({ success: true });
    expect(await send(carol, { type: "approve_command", commandId: "gdel-4-del" })).toMatchObject({ success: true });
    const final = await response;
    expect(final).toMatchObject({ success: false, code: "version_conflict", sessionVersion: 1 });
    expect(final.error).toMatch(/stale/);
    expect(await send(alice, { type: "get_state", sessionId: "gdel-4" })).toMatchObject({ success: true, sessionVersion: 1 });
  });

  it("#14.1 an approved delete of an unchanged session deletes it", async () => {
    await send(alice, { type: "create_session", sessionId: "gdel-5" });
    const { response } = await sendPending(alice, { type: "delete_session", id: "gdel-5-del", sessionId: "gdel-5" });
    await send(bob, { type: "approve_command", commandId: "gdel-5-del" });
    await send(carol, { type: "approve_command", commandId: "gdel-5-del" });
    expect(await response).toMatchObject({ success: true, data: { deleted: true } });
    expect(await send(alice, { type: "get_state", sessionId: "gdel-5" })).toMatchObject({ success: false, code: "session_not_found" });
  });
});
