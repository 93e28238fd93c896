/**
 * #18 two causeway nodes on ONE Redis journal (`--node`), real processes on loopback against a real
 * redis-server (docs/redis-store.md "Several nodes"):
 *  - a session lane belongs to the node that first ran it: the other node answers `not_owner`,
 *    naming the owner and its URL; server commands run on each node in its own `server@<node>`;
 *  - one journal: gap-free seq across both nodes, gap-free per lane; the audit passes on it;
 *  - approve / reject / cancel / expiry of the same pending commands sent to both nodes at once
 *    (fast-check; NODES_SEED replays a seed): exactly one terminal outcome each, every losing
 *    decision `transition_conflict`, every transition legal and at revision +1 in the journal.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canTransition } from "../../src/lifecycle/transitions.js";
import type { CommandStatus } from "../../src/lifecycle/status.js";
import { IDENTITIES, POLICY, writeTokens, type Who } from "../governance/harness.js";
import { expectAuditPasses, expectGapFree, nodeOn, streamRecords } from "../helpers/redis-journal.js";
import { useRedis } from "../helpers/redis-server.js";
import { tempDir, type SpawnedServer } from "../helpers/spawn.js";
import { CausewayClient } from "../helpers/ws-client.js";

const redis = useRedis();

describe("#18 two nodes on one Redis journal", () => {
  it("a session lane has one owner: the other node answers not_owner naming it; each node has its own server lane", async () => {
    const [a, b] = await Promise.all([nodeOn(redis, 1, "a"), nodeOn(redis, 1, "b")]);
    const ca = await CausewayClient.connect(a.url);
    const cb = await CausewayClient.connect(b.url);
    expect((await ca.request({ type: "create_session", id: "own-create", sessionId: "s1" })).success).toBe(true);
    expect((await ca.request({ type: "set", id: "own-set1", sessionId: "s1", path: "/x", value: 1 })).sessionVersion).toBe(1);
    const refused = await cb.request({ type: "set", id: "own-set2", sessionId: "s1", path: "/x", value: 2 });
    expect(refused).toMatchObject({
      success: false,
      code: "not_owner",
      error: "lane session:s1 is owned by node a at ws://a.example:3000/; send the command there",
      data: { lane: "session:s1", owner: "a", ownerUrl: "ws://a.example:3000/" },
    });
    // b runs sessions of its own, and server commands in server@b
    expect((await cb.request({ type: "create_session", id: "own-create-b", sessionId: "s2" })).success).toBe(true);
    expect((await cb.request({ type: "set", id: "own-set3", sessionId: "s2", path: "/y", value: 3 })).sessionVersion).toBe(1);
    expect((await ca.request({ type: "health_check", id: "own-health-a" })).success).toBe(true);
    expect((await cb.request({ type: "health_check", id: "own-health-b" })).success).toBe(true);
    await ca.close();
    await cb.close();
    expect((await a.stop()).code).toBe(0);
    expect((await b.stop()).code).toBe(0);

    const records = await streamRecords(redis, 1);
    expectGapFree(records);
    const lanes = new Set(records.map((r) => r.lane));
    expect([...lanes].sort()).toEqual(["server@a", "server@b", "session:s1", "session:s2"]);
    expect(records.filter((r) => r.commandId === "own-set2")).toEqual([]);
    await expectAuditPasses(redis.url(1));
  });
});

describe("#18 a dependency on another node's command", () => {
  it("waits until the other node finished it (read from the journal), then runs; a failed one fails it", async () => {
    const [a, b] = await Promise.all([nodeOn(redis, 4, "a"), nodeOn(redis, 4, "b")]);
    const ca = await CausewayClient.connect(a.url);
    const cb = await CausewayClient.connect(b.url);
    for (const [c, sid] of [[ca, "da"], [ca, "dr"], [cb, "db"]] as const) expect((await c.request({ type: "create_session", id: `dep-create-${sid}`, sessionId: sid })).success).toBe(true);
    // a holds a command of its session until released
    ca.sendRaw({ type: "hold", id: "dep-held", sessionId: "da", key: "dep-1" });
    await ca.waitFor((f) => f.type === "command_started" && (f.data as { commandId?: string }).commandId === "dep-held");
    const waiting = cb.request({ type: "set", id: "dep-after", sessionId: "db", path: "/x", value: 1, dependsOn: ["dep-held"] }, 20_000);
    // b's command waits in its lane at least until a's is released; only then may it start
    expect((await ca.request({ type: "release", id: "dep-release", sessionId: "dr", key: "dep-1" })).success).toBe(true);
    const after = await waiting;
    expect(after, JSON.stringify(after)).toMatchObject({ success: true, sessionVersion: 1 });
    const records = await streamRecords(redis, 4);
    const seqOf = (id: string, phase: string): number => records.find((r) => r.commandId === id && r.phase === phase)!.seq;
    expect(seqOf("dep-after", "started")).toBeGreaterThan(seqOf("dep-held", "finished"));
    // a dependency that failed on the other node fails the dependent with dependency_failed
    expect((await ca.request({ type: "fail", id: "dep-failing", sessionId: "da", message: "no" })).success).toBe(false);
    expect(await cb.request({ type: "set", id: "dep-after-fail", sessionId: "db", path: "/y", value: 1, dependsOn: ["dep-failing"] })).toMatchObject({ success: false, code: "dependency_failed" });
    await ca.close();
    await cb.close();
    expect((await a.stop()).code).toBe(0);
    expect((await b.stop()).code).toBe(0);
    expectGapFree(await streamRecords(redis, 4));
    await expectAuditPasses(redis.url(4));
  });
});

type Answer = { success: boolean; code?: string; data?: { commandId?: string; revision?: number; status?: string } };

describe("#18 decisions race across two nodes", () => {
  const nodes: SpawnedServer[] = [];
  const conns: Record<"a" | "b", Record<Who, CausewayClient>> = { a: {} as Record<Who, CausewayClient>, b: {} as Record<Who, CausewayClient> };
  beforeAll(async () => {
    const dir = tempDir("causeway-nodes-gov-");
    const gov = ["--tokens", writeTokens(dir), "--policy-file", POLICY];
    nodes.push(...(await Promise.all([nodeOn(redis, 2, "a", gov), nodeOn(redis, 2, "b", gov)])));
    for (const [i, n] of (["a", "b"] as const).entries()) {
      for (const who of ["alice", "bob", "carol"] as const) {
        const c = await CausewayClient.connect(nodes[i]!.url, { headers: { authorization: `Bearer ${IDENTITIES[who].token}` } });
        await c.waitFor((f) => f.type === "server_ready");
        conns[n][who] = c;
      }
    }
  });
  afterAll(async () => {
    for (const n of Object.values(conns)) for (const c of Object.values(n)) c.terminate();
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it("approve / reject / cancel / expire sent to both nodes: one terminal outcome each, the losers transition_conflict", async () => {
    const seed = Number(process.env.NODES_SEED ?? Date.now() % 2 ** 31);
    console.log(`two-node decisions seed ${seed} (replay: NODES_SEED=${seed} npx vitest run test/integration/redis-nodes.test.ts)`);
    let run = 0;
    let forwardedWins = 0;
    let expired = 0;
    const action = fc.record({ kind: fc.constantFrom("approve", "approve", "reject", "cancel"), target: fc.nat(2), node: fc.constantFrom("a" as const, "b" as const), who: fc.constantFrom("bob" as const, "carol" as const) });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(["one-approval"], ["quick"], ["two-steps"], ["risk:high"]), { minLength: 3, maxLength: 3 }), fc.array(fc.tuple(fc.array(action, { minLength: 1, maxLength: 4 }), fc.constantFrom(0, 0, 380, 400, 420)), { minLength: 1, maxLength: 4 }), async (tagsOf, rounds) => {
        const r = ++run;
        const owner = r % 2 === 0 ? "a" : "b";
        const sid = `race-${seed}-${r}`;
        const requester = conns[owner].alice;
        expect((await requester.request({ type: "create_session", sessionId: sid })).success).toBe(true);
        const ids = [0, 1, 2].map((i) => `d${seed}-${r}-${i}`);
        const finals = ids.map((id, i) => requester.request({ type: "set", sessionId: sid, path: `/c${i}`, value: i, tags: tagsOf[i]!, id }, 30_000));
        for (const id of ids) await requester.waitFor((f) => f.type === "command_pending" && (f.data as { commandId?: string }).commandId === id);
        const answers: Array<{ node: "a" | "b"; res: Answer }> = [];
        for (const [round, delay] of rounds) {
          // a round may go out around the quick rule's expiry (400 ms), so decisions race the expiry sweep
          if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
          const sent = round.map((a) => {
            const c = a.kind === "cancel" ? conns[a.node].alice : conns[a.node][a.who];
            const type = `${a.kind}_command`;
            return c.request({ type, commandId: ids[a.target], ...(a.kind === "reject" ? { reason: "no" } : {}) }, 20_000).then((res) => ({ node: a.node, res: res as Answer }));
          });
          answers.push(...(await Promise.all(sent)));
        }
        // settle: whatever is still pending is cancelled by its requester (a quick one may expire first)
        for (const id of ids) answers.push({ node: "a", res: (await conns.a.alice.request({ type: "cancel_command", commandId: id }, 20_000)) as Answer });
        const outcomes = await Promise.all(finals);
        // an approved command may find its session moved on by another one (onStale: reject)
        for (const o of outcomes) expect(o.success || ["rejected", "cancelled", "expired", "version_conflict"].includes(o.code!), JSON.stringify(o)).toBe(true);
        expired += outcomes.filter((o) => o.code === "expired").length;
        for (const { node, res } of answers) {
          if (!res.success) expect(["transition_conflict", "forbidden"], JSON.stringify(res)).toContain(res.code);
          else if (node !== owner) forwardedWins++;
        }
        const records = (await streamRecords(redis, 2)).filter((x) => ids.includes(x.commandId));
        for (const id of ids) {
          const trail = records.filter((x) => x.commandId === id && x.phase !== "replayed" && x.phase !== "conflict");
          expect(trail[0]!.phase).toBe("accepted");
          expect(new Set(trail.map((x) => x.lane))).toEqual(new Set([`session:${sid}`]));
          let status: CommandStatus = "queued";
          let revision = 0;
          for (const x of trail.slice(1)) {
            expect(canTransition(status, x.status as CommandStatus), `${id}: ${status} → ${x.status}`).toBe(true);
            expect(x.revision, `${id}`).toBe(revision + 1);
            status = x.status as CommandStatus;
            revision = x.revision!;
          }
          expect(trail.filter((x) => x.phase === "finished"), `${id}: one terminal outcome`).toHaveLength(1);
        }
        for (const { res } of answers) {
          if (!res.success || typeof res.data?.revision !== "number") continue;
          const row = records.find((x) => x.commandId === res.data!.commandId && x.revision === res.data!.revision);
          expect(row, `${res.data.commandId} revision ${res.data.revision} reported but not journaled`).toBeDefined();
          expect(row!.status).toBe(res.data.status);
        }
      }),
      { seed, numRuns: Number(process.env.NODES_RUNS ?? 8), endOnFailure: true },
    );
    // decisions sent to the node that does not own the lane were carried out (by the owner)
    console.log(`two-node decisions: ${forwardedWins} won through the other node, ${expired} expired`);
    expect(forwardedWins).toBeGreaterThan(0);
    expectGapFree(await streamRecords(redis, 2));
    await expectAuditPasses(redis.url(2));
  });
});
