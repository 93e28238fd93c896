/**
 * Issue #6 (Level 5) transport faults. None of them may change an outcome or break an invariant:
 * every run is checked against the reference model and the invariant checkers.
 *
 * - stdio: the frames of differential workloads, byte-split at random boundaries (always some
 *   inside multi-byte UTF-8 characters), several frames per chunk, LF and CRLF, some frames
 *   duplicated;
 * - WebSocket: connections dropped (terminated) mid-burst, then the client retries every frame
 *   it had sent, with the same id and key, on a new connection;
 * - a slow consumer that subscribes to everything and stops reading: its events are dropped or it
 *   is closed (1008), everyone else's outcomes are unaffected, server memory stays bounded.
 *
 * Seeds: CHAOS_SEEDS (default 4 per fault kind) from CHAOS_SEED_BASE (default 1);
 * CHAOS_SEED=N runs one. Replay: CHAOS_SEED=<seed> npx vitest run test/assurance/transport-faults.test.ts
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { spawnStdio, tempDir } from "../helpers/spawn.js";
import { Campaign, replayHint } from "../model/campaign.js";
import { generate, type Step } from "../model/generator.js";
import { JournalReader, Peer } from "../model/harness.js";
import { checkClientOrder, checkEventsMatchJournal, checkSendOrder, JournalInvariants } from "../model/invariants.js";
import { ReferenceModel } from "../model/model.js";
import { checkResponses, type SendResult } from "../model/responses.js";
import { rng } from "../model/rng.js";
import { fmtViolations, type Received, type Send, type Violation } from "../model/types.js";

const FILE = "test/assurance/transport-faults.test.ts";
const seeds = process.env.CHAOS_SEED ? [Number(process.env.CHAOS_SEED)] : Array.from({ length: Number(process.env.CHAOS_SEEDS ?? 4) }, (_, i) => Number(process.env.CHAOS_SEED_BASE ?? 1) + i);

function fail(kind: string, seed: number, vs: Violation[]): void {
  if (vs.length > 0) console.error(`${kind} seed ${seed}: ${vs.length} violation(s)\n${fmtViolations(vs)}\n${replayHint(seed, FILE, "CHAOS_SEED")}`);
  expect(vs.map((v) => `[${v.invariant}] ${v.message}`), replayHint(seed, FILE, "CHAOS_SEED")).toEqual([]);
}

/** Cut points: random ones, plus some inside multi-byte UTF-8 sequences (continuation bytes). */
function cuts(buf: Buffer, r: ReturnType<typeof rng>): number[] {
  const points = new Set<number>();
  const inside: number[] = [];
  for (let i = 1; i < buf.length; i++) if ((buf[i]! & 0xc0) === 0x80) inside.push(i);
  for (let k = r.int(0, 6); k > 0 && inside.length > 0; k--) points.add(r.pick(inside));
  for (let k = r.int(1, 12); k > 0; k--) points.add(r.int(1, Math.max(1, buf.length - 1)));
  return [...points].filter((p) => p > 0 && p < buf.length).sort((a, b) => a - b);
}

describe("transport faults", () => {
  it(`stdio: split, coalesced and duplicated frames (${seeds.length} seeds) change no outcome`, async () => {
    const db = join(tempDir("causeway-l5-stdio-"), "j.db");
    const server = spawnStdio({ db, commands: false });
    const model = new ReferenceModel();
    const inv = new JournalInvariants();
    let reader: JournalReader | undefined;
    let lastSeq = 0;
    let splitInside = 0;
    try {
      await server.waitFor((f) => f.type === "server_ready");
      reader = new JournalReader(db);
      for (const seed of seeds) {
        const r = rng(seed ^ 0x5bd1e995);
        const wl = generate(seed, { prefix: `t${seed}`, clients: [1, 1] });
        const all: Send[] = [];
        const fromFrame = server.frames.length;
        let segment: Send[] = [];
        const flush = async (): Promise<void> => {
          if (segment.length === 0) return;
          const parts: Buffer[] = [];
          for (const s of segment) {
            const line = Buffer.from(JSON.stringify(s.env) + (r.chance(0.2) ? "\r\n" : "\n"), "utf8");
            parts.push(line);
            all.push(s);
            if (r.chance(0.1)) {
              parts.push(line); // the same frame twice
              all.push({ ...s, index: -1 });
            }
          }
          const buf = Buffer.concat(parts);
          let at = 0;
          for (const c of [...cuts(buf, r), buf.length]) {
            if ((buf[c]! & 0xc0) === 0x80) splitInside++;
            await new Promise<void>((resolve, reject) => server.proc.stdin!.write(buf.subarray(at, c), (e) => (e ? reject(e) : resolve())));
            at = c;
          }
          segment = [];
          const want = all.length;
          await server.waitFor(() => server.frames.slice(fromFrame).filter((f) => f.type === "response").length >= want, 30_000);
        };
        for (const step of wl.steps) {
          if (step.kind === "send") segment.push(step.send);
          else await flush();
        }
        await flush();
        model.addSends(all);
        const rows = reader.after(lastSeq);
        if (rows.length > 0) lastSeq = rows[rows.length - 1]!.seq;
        const mv = model.violations.length;
        const iv = inv.violations.length;
        model.ingest(rows);
        inv.ingest(rows);
        inv.quiescent();
        // pair responses (per id, in order) with what was sent
        const frames = server.frames.slice(fromFrame);
        const byId = new Map<string, Received[]>();
        frames.forEach((f, i) => {
          if (f.type === "response" && typeof f.id === "string") byId.set(f.id, [...(byId.get(f.id) ?? []), { frame: f, raw: server.stdoutLines[fromFrame + i]!, at: i }]);
        });
        const results: SendResult[] = all.map((send) => ({ send, response: byId.get(send.env.id)?.shift() }));
        fail("stdio", seed, [
          ...model.violations.slice(mv),
          ...inv.violations.slice(iv),
          ...checkResponses(model, results),
          ...checkEventsMatchJournal(rows, frames),
          ...checkClientOrder(0, frames),
          ...checkSendOrder(model, results),
        ]);
      }
      console.log(`stdio transport faults: ${seeds.length} seeds, ${model.rows} journal rows, ${splitInside} cuts inside UTF-8 sequences`);
      expect(splitInside).toBeGreaterThan(0);
    } finally {
      reader?.close();
      server.end();
      expect((await server.exited).code).toBe(0);
    }
  }, 180_000);

  it(`websocket: connections dropped mid-burst, retried with the same ids and keys (${seeds.length} seeds)`, async () => {
    const c = await Campaign.start();
    try {
      let retried = 0;
      for (const seed of seeds) {
        const wl = generate(seed, { prefix: `d${seed}` });
        const r = rng(seed ^ 0x1234567);
        // drop one or two clients at a seeded frame of theirs
        const drops = [...new Set([r.int(0, wl.clients - 1), r.int(0, wl.clients - 1)])].map((client) => {
          const own = wl.sends.filter((s) => s.client === client);
          return { client, afterSend: r.int(0, own.length - 1) };
        });
        const report = await c.check(wl, { drops });
        retried += report.sends;
        fail("ws-drop", seed, report.violations);
      }
      console.log(`websocket drops: ${seeds.length} seeds, ${retried} frames, model given ${JSON.stringify(Object.fromEntries(c.model.given))}`);
    } finally {
      await c.stop();
      c.close();
    }
  }, 180_000);

  it("a slow consumer that stops reading: others unaffected, its events dropped or it is closed, memory bounded", async () => {
    const MAX_OUT = 64 * 1024;
    const c = await Campaign.start({ fixtures: true, args: ["--max-outbound-bytes", String(MAX_OUT)] });
    try {
      const slow = await Peer.connect(c.url);
      c.register({ type: "subscribe", id: "slow-sub", scope: "all" });
      expect((await slow.request({ type: "subscribe", id: "slow-sub", scope: "all" })).success).toBe(true);
      // stop reading: the kernel buffers fill, then the server's outbound buffer
      const socket = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
      socket.pause();
      const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${c.server.proc.pid}/status`, "utf8"))![1]) / 1024;
      const before = rss();
      let closed: number | undefined;
      void slow.closed.then((code) => (closed = code));
      // a flood of 64 KB session events (fixture `emit`) from another client, checked like any workload
      const flood: Send[] = [{ client: 0, index: 0, env: { type: "create_session", id: "flood-create", sessionId: "flood" }, racyDeps: false }];
      const payload = "e".repeat(64 * 1024);
      for (let i = 1; i <= 150; i++) flood.push({ client: 0, index: i, env: { type: "emit", id: `flood-${i}`, sessionId: "flood", payload }, racyDeps: false });
      const steps: Step[] = [{ kind: "send", send: flood[0]! }, { kind: "barrier" }, ...flood.slice(1).map((send) => ({ kind: "send" as const, send })), { kind: "barrier" }];
      fail("slow-consumer-flood", 0, (await c.check({ seed: 0, clients: 1, sessions: ["flood"], steps, sends: flood }, {})).violations);
      const n = Number(process.env.SLOW_SEEDS ?? 6);
      for (let i = 0; i < n; i++) {
        // bigger payloads make the event stream heavy
        const report = await c.runSeed(5_000 + i, { prefix: `slow${i}`, perClient: [8, 12] });
        fail("slow-consumer", 5_000 + i, report.violations);
      }
      const after = rss();
      socket.resume();
      // it either was closed as a slow consumer, or it hears that events were dropped
      if (closed === undefined) await Promise.race([slow.closed, slow.next((f) => f.type === "events_dropped", 20_000)]).catch(() => undefined);
      const dropped = slow.frames.filter((f) => f.type === "events_dropped").reduce((a, f) => a + f.data.count, 0);
      console.log(`slow consumer: closed ${closed ?? "no"}, ${dropped} events dropped, ${slow.frames.length} frames read; server RSS ${before.toFixed(0)} → ${after.toFixed(0)} MB`);
      expect(closed === 1008 || dropped > 0).toBe(true);
      expect(after - before, "server RSS growth while a consumer does not read (bound 96 MB)").toBeLessThan(96);
    } finally {
      await c.stop();
      c.close();
    }
  }, 240_000);
});
