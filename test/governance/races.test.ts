/**
 * Concurrent decisions against the real server (issue #5):
 * - approve and cancel of the same command sent at once on two connections: exactly one wins, the
 *   loser gets transition_conflict with the current status and revision;
 * - a fast-check property over random interleavings of approve, reject, cancel, expire and supersede
 *   from several actors and connections: one terminal outcome per command, every transition legal
 *   under the table, revisions +1 per accepted transition, and every successful decision is in the
 *   journal at the revision it reported.
 * Replay a property failure with GOV_SEED=<seed> (the seed is printed).
 * Both stores (#18): the SQLite journal, and the Redis store on a redis-server of its own (the
 * journal rows read from the node's projection); GOV_STORE=sqlite|redis runs one.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CausewayClient } from "../helpers/ws-client.js";
import { canTransition } from "../../src/lifecycle/transitions.js";
import type { CommandStatus } from "../../src/lifecycle/status.js";
import { startRedis, type TestRedis } from "../helpers/redis-server.js";
import { journalRows, send, sendPending, startGoverned, type Governed, type Who } from "./harness.js";

const STORES = ["sqlite", "redis"].filter((s) => (process.env.GOV_STORE ?? s) === s);

describe.each(STORES)("governance races (%s store)", (store) => {
  let g: Governed;
  let redis: TestRedis | undefined;
  const conns: Record<Who, CausewayClient[]> = { alice: [], bob: [], carol: [], dave: [] };

  beforeAll(async () => {
    if (store === "redis") redis = await startRedis();
    g = await startGoverned(redis ? { store: redis.url(0) } : {});
    for (const who of ["alice", "bob", "carol", "dave"] as const) for (let i = 0; i < 2; i++) conns[who].push(await g.connect(who));
  });

  afterAll(async () => {
    await g?.stop();
    await redis?.stop();
  });

  describe("approve and cancel race on two connections", () => {
    it("exactly one wins every time; the loser gets transition_conflict", async () => {
      const [bob] = conns.bob;
      const [carol] = conns.carol;
      const [bob2] = conns.bob.slice(1);
      await send(bob!, { type: "create_session", sessionId: "race" });
      const tally = { approve: 0, cancel: 0 };
      for (let i = 0; i < 40; i++) {
        const { pending, response } = await sendPending(bob!, { type: "set", sessionId: "race", path: "/i", value: i, tags: ["one-approval"], id: `race-${i}` });
        const id = (pending.data as { commandId: string }).commandId;
        // both frames leave before either answer arrives; their order on the server decides (who
        // writes first alternates, so both outcomes of the race are exercised)
        const approve = (): Promise<{ success: boolean; data?: unknown; code?: string }> => carol!.request({ type: "approve_command", commandId: id });
        const cancel = (): Promise<{ success: boolean; data?: unknown; code?: string }> => bob2!.request({ type: "cancel_command", commandId: id });
        const [a, c] = i % 2 === 0 ? await Promise.all([approve(), cancel()]) : await Promise.all([cancel(), approve()]).then(([x, y]) => [y, x] as const);
        const winners = [a, c].filter((r) => r.success);
        expect(winners, `round ${i}`).toHaveLength(1);
        const loser = a.success ? c : a;
        expect(loser).toMatchObject({ success: false, code: "transition_conflict" });
        expect(loser.data).toMatchObject({ commandId: id, revision: expect.any(Number), status: expect.any(String) });
        const final = await response;
        if (a.success) {
          tally.approve++;
          expect(final).toMatchObject({ success: true });
        } else {
          tally.cancel++;
          expect(final).toMatchObject({ success: false, code: "cancelled" });
        }
      }
      // both orders happened (otherwise the race was not a race)
      expect(tally.approve).toBeGreaterThan(0);
      expect(tally.cancel).toBeGreaterThan(0);
      console.log(`approve/cancel race: approve won ${tally.approve}, cancel won ${tally.cancel}`);
    });
  });

  type Action =
    | { kind: "approve" | "reject" | "cancel"; target: number; who: Who; conn: number }
    | { kind: "supersede"; target: number; who: Who; conn: number };

  const WHO: Who[] = ["alice", "bob", "carol", "dave"];

  describe("random interleavings of decisions (fast-check)", () => {
    it("one terminal outcome per command, legal transitions, revisions +1, decisions journaled as reported", async () => {
      const seed = Number(process.env.GOV_SEED ?? Date.now() % 2 ** 31);
      console.log(`governance property seed ${seed} on ${store} (replay: GOV_STORE=${store} GOV_SEED=${seed} npx vitest run test/governance/races.test.ts)`);
      let run = 0;
      const action = fc.record({
        kind: fc.constantFrom("approve", "approve", "reject", "cancel", "supersede"),
        target: fc.nat(3),
        who: fc.constantFrom(...WHO),
        conn: fc.nat(1),
      }) as fc.Arbitrary<Action>;
      await fc.assert(
        fc.asyncProperty(fc.array(fc.constantFrom<string[]>(["risk:high"], ["one-approval"], ["quick"], ["two-steps"]), { minLength: 4, maxLength: 4 }), fc.array(fc.array(action, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }), async (tagsOf, rounds) => {
          const r = ++run;
          const sid = `prop-${seed}-${r}`;
          const requesters: Who[] = ["bob", "carol", "alice", "bob"];
          await send(conns.alice[0]!, { type: "create_session", sessionId: sid });
          const ids: string[] = [];
          const finals: Array<Promise<unknown>> = [];
          for (let i = 0; i < 4; i++) {
            const id = `p${seed}-${r}-${i}`;
            const { response } = await sendPending(conns[requesters[i]!][0]!, { type: "set", sessionId: sid, path: `/c${i}`, value: i, tags: tagsOf[i]!, id });
            ids.push(id);
            finals.push(response);
          }
          const reported: Array<{ id: string; revision: number; status: string }> = [];
          let superseded = 0;
          for (const round of rounds) {
            // one round: every action's frame is sent before any answer is read
            const answers = await Promise.all(
              round.map((a) => {
                const c = conns[a.who][a.conn]!;
                const id = ids[a.target]!;
                if (a.kind === "supersede") {
                  const nid = `${id}-s${++superseded}`;
                  const p = c.request({ type: "set", sessionId: sid, path: `/c${a.target}`, value: -1, tags: tagsOf[a.target]!, supersedes: id, id: nid }, 60_000);
                  return c
                    .waitFor((f) => (f.type === "command_pending" || f.type === "response") && ((f.data as { commandId?: string } | undefined)?.commandId === nid || f.id === nid), 10_000)
                    .then((f) => {
                      if (f.type === "command_pending") {
                        ids[a.target] = nid;
                        finals.push(p);
                      }
                      return { a, res: { success: f.type === "command_pending" } as { success: boolean; data?: unknown } };
                    });
                }
                const type = a.kind === "approve" ? "approve_command" : a.kind === "reject" ? "reject_command" : "cancel_command";
                return c.request({ type, commandId: id, ...(a.kind === "reject" ? { reason: "no" } : {}) }).then((res) => ({ a, res }));
              }),
            );
            for (const { res } of answers) {
              const d = res.data as { commandId?: string; revision?: number; status?: string } | undefined;
              if (res.success && d?.commandId && typeof d.revision === "number") reported.push({ id: d.commandId, revision: d.revision, status: d.status! });
            }
          }
          // settle: whatever is still pending is cancelled by the admin (or expires first)
          for (const id of ids) await conns.alice[1]!.request({ type: "cancel_command", commandId: id });
          await Promise.all(finals);

          const rows = journalRows(g.rowsFile).filter((x) => x.command_id.startsWith(`p${seed}-${r}-`));
          const trails = new Map<string, typeof rows>();
          for (const x of rows) if (x.phase !== "replayed" && x.phase !== "conflict") trails.set(x.command_id, [...(trails.get(x.command_id) ?? []), x]);
          for (const [id, trail] of trails) {
            let status: CommandStatus = "queued";
            let revision = 0;
            expect(trail[0]!.phase, id).toBe("accepted");
            for (const x of trail.slice(1)) {
              expect(canTransition(status, x.status as CommandStatus), `${id}: ${status} → ${x.status}`).toBe(true);
              expect(x.revision, `${id}: revision after ${revision}`).toBe(revision + 1);
              status = x.status as CommandStatus;
              revision = x.revision!;
            }
            expect(trail.filter((x) => x.phase === "finished"), `${id}: one terminal outcome`).toHaveLength(1);
          }
          for (const rep of reported) {
            const row = trails.get(rep.id)?.find((x) => x.revision === rep.revision);
            expect(row, `${rep.id} revision ${rep.revision} reported but not journaled`).toBeDefined();
            expect(row!.status).toBe(rep.status);
          }
        }),
        { seed, numRuns: Number(process.env.GOV_RUNS ?? 12), endOnFailure: true },
      );
    });
  });
});
