/**
 * #18 two causeway nodes on one Redis journal, when one of them goes away (real processes, a real
 * redis-server; docs/redis-store.md "Several nodes"):
 *  - kill -9 of node a mid-burst (seeded; NODES_KILL_SEED replays one): node b takes over every
 *    lane a left with unfinished commands by itself (no client asks), with restart's verdicts;
 *    seq stays gap-free and every lane's sequence too across the handover; every command a client
 *    saw finish on a replays byte-identical on b; a restarted a gets not_owner for its old lanes;
 *  - a stale node (SIGSTOP past its lease, b takes its lane, SIGCONT): every write it tries is
 *    refused, it reports itself unhealthy, and nothing it did after the pause is in the journal;
 *  - a dead node's server lane is taken over by nobody: its running server command waits for the
 *    node's restart, which interrupts it, while its session lane's command is resolved by b at once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JournalRecord } from "../../src/journal/record.js";
import { checkReplays, killMidBurst } from "../helpers/kill-burst.js";
import { LEASE_MS, expectAuditPasses, expectGapFree, nodeOn, streamRecords } from "../helpers/redis-journal.js";
import { useRedis } from "../helpers/redis-server.js";
import { tempDir } from "../helpers/spawn.js";
import { CausewayClient } from "../helpers/ws-client.js";

/** Commands of `records` accepted and not (yet) finished. */
function unfinished(records: JournalRecord[]): string[] {
  const done = new Set(records.filter((r) => r.phase === "finished").map((r) => r.commandId));
  return records.filter((r) => r.phase === "accepted" && !done.has(r.commandId)).map((r) => r.commandId);
}

const seed = Number(process.env.NODES_KILL_SEED ?? 1 + (Date.now() % 1000));

describe("#18 a node goes away: another node takes its lanes over", () => {
  const redis = useRedis();

  it(`kill -9 of node a mid-burst (seed ${seed}): b takes its lanes over; order and gap-free sequences hold across the handover`, async () => {
    console.log(`node kill seed ${seed} (replay: NODES_KILL_SEED=${seed} npx vitest run test/integration/redis-takeover.test.ts)`);
    const dirA = tempDir("causeway-node-a-");
    const [a, b] = await Promise.all([nodeOn(redis, 1, "a", [], dirA), nodeOn(redis, 1, "b")]);
    const burst = await killMidBurst(a, seed);
    const killedAt = Date.now();
    const left = unfinished(await streamRecords(redis, 1));
    // b's sweep takes over every lane a left with unfinished commands: no client asks it to
    await expect.poll(async () => unfinished(await streamRecords(redis, 1)), { timeout: 30_000, interval: 50 }).toEqual([]);
    console.log(`node a killed with ${left.length} command(s) unfinished; b resolved them ${Date.now() - killedAt} ms after the kill (lease ${LEASE_MS} ms)`);
    const records = await streamRecords(redis, 1);
    expectGapFree(records);
    for (const r of records.filter((x) => x.phase === "accepted")) expect(records.filter((x) => x.commandId === r.commandId && x.phase === "finished"), r.commandId).toHaveLength(1);
    // each command a left unfinished got a restart verdict from b: re-queued, or finished by recovery
    for (const id of left) {
      const verdict = records.find((r) => r.commandId === id && (r.phase === "requeued" || (r.phase === "finished" && r.detail?.recovery !== undefined)));
      expect(verdict, `${id}: no recovery verdict`).toBeDefined();
    }

    // every command a client saw finish on a replays on b (a lane a left idle is b's on its first command)
    const cb = await CausewayClient.connect(b.url);
    await checkReplays(cb, burst);
    expect((await cb.request({ type: "set", id: `after-${seed}`, sessionId: "a", path: "/b", value: 1 })).success).toBe(true);

    // a restarted a: its old lanes are b's now
    const again = await nodeOn(redis, 1, "a", [], dirA);
    const ca = await CausewayClient.connect(again.url);
    expect(await ca.request({ type: "get_state", id: `a-again-${seed}`, sessionId: "a" })).toMatchObject({ success: false, code: "not_owner", data: { owner: "b" } });
    await ca.close();
    await cb.close();
    expect((await again.stop()).code).toBe(0);
    expect((await b.stop()).code).toBe(0);
    expectGapFree(await streamRecords(redis, 1));
    await expectAuditPasses(redis.url(1));
  });

  it("a stale node (SIGSTOP past its lease, its lane taken over, SIGCONT) has every write refused", async () => {
    const [a, b] = await Promise.all([nodeOn(redis, 2, "a"), nodeOn(redis, 2, "b")]);
    const ca = await CausewayClient.connect(a.url);
    const cb = await CausewayClient.connect(b.url);
    expect((await ca.request({ type: "create_session", id: "st-create", sessionId: "p" })).success).toBe(true);
    expect((await ca.request({ type: "set", id: "st-a1", sessionId: "p", path: "/who", value: "a" })).sessionVersion).toBe(1);
    expect((await cb.request({ type: "set", id: "st-b0", sessionId: "p", path: "/who", value: "b" })).code).toBe("not_owner");

    a.proc.kill("SIGSTOP");
    try {
      // a cannot renew its lease: once it expired, b takes lane session:p on its next command
      let n = 0;
      await expect.poll(async () => (await cb.request({ type: "set", id: `st-b${++n}`, sessionId: "p", path: "/who", value: "b" })).success, { timeout: 20_000, interval: 100 }).toBe(true);
      // a command for a's old lane, read by a only once it runs again
      ca.sendRaw({ type: "set", id: "st-a2", sessionId: "p", path: "/who", value: "stale" });
    } finally {
      a.proc.kill("SIGCONT");
    }
    const stale = await ca.waitFor((f) => f.type === "response" && f.id === "st-a2");
    expect(stale).toMatchObject({ success: false, code: "journal_unavailable" });
    // and everything after: a knows it lost its lease and says so
    expect((await ca.request({ type: "set", id: "st-a3", sessionId: "q", path: "/x", value: 1 })).code).toBe("journal_unavailable");
    const ready = await fetch(`http://127.0.0.1:${a.port}/readyz`);
    expect(ready.status).toBe(503);

    const records = await streamRecords(redis, 2);
    expectGapFree(records);
    expect(records.filter((r) => r.commandId === "st-a2" || r.commandId === "st-a3")).toEqual([]);
    expect((await cb.request({ type: "get_state", id: "st-get", sessionId: "p" })).data).toEqual({ state: { who: "b" } });
    await ca.close();
    await cb.close();
    a.proc.kill("SIGKILL");
    await a.exited;
    expect((await b.stop()).code).toBe(0);
    await expectAuditPasses(redis.url(2));
  });

  it("a dead node's server lane waits for that node: b resolves its session lane, a's restart its server command", async () => {
    const dirA = tempDir("causeway-node-a-");
    const [a, b] = await Promise.all([nodeOn(redis, 3, "a", ["--trace-starts"], dirA), nodeOn(redis, 3, "b")]);
    const ca = await CausewayClient.connect(a.url);
    expect((await ca.request({ type: "create_session", id: "sv-create", sessionId: "h" })).success).toBe(true);
    ca.sendRaw({ type: "hold_server", id: "sv-hold-server", key: "never-1" });
    ca.sendRaw({ type: "hold", id: "sv-hold", sessionId: "h", key: "never-2" });
    for (const id of ["sv-hold-server", "sv-hold"]) await ca.waitFor((f) => f.type === "command_started" && (f.data as { commandId?: string }).commandId === id);
    a.proc.kill("SIGKILL");
    await a.exited;
    ca.terminate();
    // b's sweep resolves the session lane's running command (interrupted, as a restart would) ...
    const finishedOf = (records: JournalRecord[], id: string) => records.find((r) => r.commandId === id && r.phase === "finished");
    await expect.poll(async () => finishedOf(await streamRecords(redis, 3), "sv-hold")?.outcome?.code, { timeout: 30_000, interval: 50 }).toBe("interrupted");
    // ... in the same pass in which it would have taken server@a: that one waits for a
    const before = await streamRecords(redis, 3);
    expect(finishedOf(before, "sv-hold-server")).toBeUndefined();
    expect(before.filter((r) => r.lane === "server@a" && r.seq > before.find((x) => x.commandId === "sv-hold-server" && x.phase === "started")!.seq)).toEqual([]);

    const again = await nodeOn(redis, 3, "a", [], dirA);
    const ca2 = await CausewayClient.connect(again.url);
    expect((await ca2.request({ type: "health_check", id: "sv-health" })).success).toBe(true);
    const after = await streamRecords(redis, 3);
    expect(finishedOf(after, "sv-hold-server")).toMatchObject({ lane: "server@a", outcome: { code: "interrupted" } });
    expectGapFree(after);
    await ca2.close();
    expect((await again.stop()).code).toBe(0);
    expect((await b.stop()).code).toBe(0);
    await expectAuditPasses(redis.url(3));
  });
});
