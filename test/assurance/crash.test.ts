/**
 * Issue #6 (Level 5) crash campaign: differential bursts killed with SIGKILL at a seeded moment
 * (when the K-th command_accepted event arrives; a third of the commands are the fixture's
 * non-deterministic `side_effect`, which waits for its durable `started` row, so lanes are busy), restarted on the same journal, twice per seed. After each restart the
 * reference model (with `interrupted` and `requeued` as the only given outcomes), the invariant
 * checkers and `causeway audit` all pass, every command a client saw finish replays unchanged, and
 * a `subscribe {fromSeq}` from where the killed observer stopped resumes the stream right after its
 * response: every row since, recovery's requeued rows included, once each and in order.
 *
 * Seeds: CRASH_SEEDS (default 3) from CRASH_SEED_BASE (default 1); CRASH_SEED=N runs one.
 * Replay: CRASH_SEED=<seed> npx vitest run test/assurance/crash.test.ts
 *
 * Both stores (#18): the SQLite journal, and the Redis store on a redis-server of its own
 * (CRASH_REDIS_SEEDS, default 1; the rows come from the node's projection, `causeway audit --store`
 * audits the Redis journal and its keys). CRASH_STORE=sqlite|redis runs one.
 */
import { describe, expect, it } from "vitest";
import { audit, Campaign, replayHint, unchangedCheck } from "../model/campaign.js";
import { generate } from "../model/generator.js";
import { Peer, runWorkload } from "../model/harness.js";
import { checkClientOrder, checkEventsMatchJournal, checkResumedStream } from "../model/invariants.js";
import { checkResponses } from "../model/responses.js";
import { rng } from "../model/rng.js";
import { fmtViolations, type Violation } from "../model/types.js";

const FILE = "test/assurance/crash.test.ts";
const range = (n: number): number[] => (process.env.CRASH_SEED ? [Number(process.env.CRASH_SEED)] : Array.from({ length: n }, (_, i) => Number(process.env.CRASH_SEED_BASE ?? 1) + i));
const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 2);
const STORES = [
  { store: "sqlite", seeds: range(Number(process.env.CRASH_SEEDS ?? 3)) },
  { store: "redis", seeds: range(Number(process.env.CRASH_REDIS_SEEDS ?? 1)) },
].filter((s) => (process.env.CRASH_STORE ?? s.store) === s.store);

describe.each(STORES)("crash campaign: kill -9 during differential bursts ($store store)", ({ store, seeds }) => {
  it(`${seeds.length} seeds × ${ROUNDS} kills: model, invariants, audit and acknowledged outcomes survive`, async () => {
    const stats = { kills: 0, unfinishedAtKill: 0, interrupted: 0, requeued: 0, resumedRows: 0 };
    for (const seed of seeds) {
      const r = rng(seed ^ 0xdead);
      const c = await Campaign.start({ crashes: true, fixtures: true, store });
      const hint = `CRASH_STORE=${store} ${replayHint(seed, FILE, "CRASH_SEED")}`;
      try {
        for (let round = 0; round < ROUNDS; round++) {
          const violations: Violation[] = [];
          const wl = generate(seed * 100 + round, { prefix: `k${seed}r${round}`, phases: [3, 4], perClient: [20, 40], sideEffectRate: 0.35 });
          const killAfter = r.int(1, Math.max(2, Math.floor(wl.sends.length * 0.8)));
          c.model.addSends(wl.sends);
          const obs1 = c.observer;
          let heard = 0;
          let kill!: () => void;
          const killed = new Promise<void>((resolve) => (kill = resolve));
          const proc = c.server.proc;
          const res = await runWorkload(c.url, wl, {
            abort: killed,
            // kill when the K-th command_accepted arrives: commands are then in every state
            onFrame: (f) => {
              if (f.type === "command_accepted" && ++heard === killAfter) {
                proc.kill("SIGKILL");
                kill();
              }
            },
          });
          if (heard < killAfter) {
            proc.kill("SIGKILL");
            kill();
          }
          const exit = await c.server.exited;
          const pending = c.reader.after(c.lastSeq);
          const open = new Set<string>();
          for (const x of pending) if (x.phase === "accepted") open.add(x.commandId);
          for (const x of pending) if (x.phase === "finished") open.delete(x.commandId);
          stats.unfinishedAtKill += open.size;
          expect(exit.signal).toBe("SIGKILL");
          stats.kills++;
          for (const p of res.peers) p.terminate();
          obs1.terminate();
          // restart on the same journal; let re-queued commands finish
          await c.boot();
          // resume the event stream where the killed observer stopped: the replay (recovery's
          // requeued rows included) follows the subscribe response
          const fromSeq = Math.max(0, ...obs1.frames.map((f) => (typeof f.data?.seq === "number" ? (f.data.seq as number) : 0)));
          const resume = await Peer.connect(c.url);
          const resumeId = `resume-${seed}-${round}`;
          c.register({ type: "subscribe", id: resumeId, scope: "all", fromSeq });
          const resumed = await resume.request({ type: "subscribe", id: resumeId, scope: "all", fromSeq });
          expect(resumed.data).toMatchObject({ fromSeq, replaying: true });
          const recovery = await c.request({ type: "get_startup_recovery", id: `rec-${seed}-${round}` });
          stats.interrupted += recovery.data.interrupted.count;
          stats.requeued += recovery.data.requeued.count;
          for (let i = 0; ; i++) {
            // health_check leaves itself out of its figures: 0 means nothing else is in flight
            const h = await c.request({ type: "health_check", id: `h-${seed}-${round}-${i}` });
            if (h.data.inFlight === 0) break;
            await c.observer.next((f) => f.type === "command_finished", 2_000).catch(() => undefined);
          }
          const rows = c.sync();
          if (!resume.frames.some((f) => f.data?.seq === c.lastSeq)) await resume.next((f) => f.data?.seq === c.lastSeq, 10_000).catch(() => undefined);
          const since = c.reader.after(fromSeq);
          stats.resumedRows += since.length;
          violations.push(...checkResumedStream(since, resume.frames, resumeId));
          await resume.close();
          violations.push(
            ...c.model.violations.splice(0),
            ...c.invariants.violations.splice(0),
            ...checkResponses(c.model, res.results, { crashes: true }),
            ...checkEventsMatchJournal(rows, obs1.frames),
            ...res.peers.flatMap((p, i) => [...checkClientOrder(i, p.frames), ...checkEventsMatchJournal(rows, p.frames)]),
          );
          c.invariants.quiescent();
          violations.push(...c.invariants.violations.splice(0), ...c.finalStates(wl));
          // every command a client saw finish is unchanged
          const u = unchangedCheck(res.results, c.model);
          const again = await c.check(u.wl, { partial: true });
          violations.push(...again.violations, ...u.verify(again.results));
          violations.push(...audit(c.auditArgs, true), ...(await c.redisMirror()));
          if (violations.length > 0) console.error(`crash seed ${seed} round ${round} (killed at the ${killAfter}th command_accepted): ${violations.length} violation(s)\n${fmtViolations(violations)}\n${hint}`);
          expect(violations.map((v) => `[${v.invariant}] ${v.message}`), hint).toEqual([]);
        }
      } finally {
        await c.stop();
        await c.close();
      }
    }
    console.log(`crash campaign (${store}): ${seeds.length} seeds, ${stats.kills} kills, ${stats.unfinishedAtKill} commands unfinished at the kills, recovery interrupted ${stats.interrupted}, requeued ${stats.requeued}, ${stats.resumedRows} rows resumed through subscribe fromSeq`);
  }, 300_000);
});
