/**
 * Issue #4.3: resumable events. A subscriber drops mid-stream, resubscribes with the last seq it
 * saw, and ends up with every event exactly once, while commands keep arriving.
 */
import { describe, expect, it } from "vitest";
import { CausewayClient, type Frame } from "../helpers/ws-client.js";
import { spawnServer } from "../helpers/spawn.js";

type Data = Record<string, any>;
const isJournalEvent = (f: Frame): boolean => typeof (f.data as Data | undefined)?.seq === "number" && f.type.startsWith("command_");

describe("subscribe fromSeq", () => {
  it("a reconnecting subscriber receives every event exactly once, identical to the live ones", async () => {
    const server = await spawnServer();
    const writer = await CausewayClient.connect(server.url);
    const sessions = ["r1", "r2", "r3"];
    for (const s of sessions) await writer.request({ type: "create_session", id: `c-${s}`, sessionId: s });

    const first = await CausewayClient.connect(server.url);
    await first.request({ type: "subscribe", scope: "all" });

    // keep writing in the background: 600 commands, 32 in flight, with replays and conflicts mixed in
    let sent = 0;
    const TOTAL = 600;
    const done = new Promise<void>((resolve) => {
      let answered = 0;
      const next = (): void => {
        if (sent >= TOTAL) return;
        const i = sent++;
        const sid = sessions[i % sessions.length]!;
        // every 10th command retries the previous one under a new id with the same idempotency key
        const cmd =
          i % 10 === 9
            ? { type: "set", id: `d${i}`, sessionId: sessions[(i - 1) % sessions.length]!, path: "/v", value: i - 1, idempotencyKey: `k${i - 1}` }
            : { type: "set", id: `w${i}`, sessionId: sid, path: "/v", value: i, idempotencyKey: `k${i}` };
        void writer.request(cmd).then(() => {
          if (++answered === TOTAL) resolve();
          next();
        });
      };
      for (let k = 0; k < 32; k++) next();
    });

    // drop the first subscriber after it has seen some events
    await first.waitFor((f) => isJournalEvent(f) && first.frames.filter(isJournalEvent).length >= 150);
    first.terminate();
    const seen1 = first.frames.filter(isJournalEvent);
    const lastSeq = Math.max(...seen1.map((f) => (f.data as Data).seq as number));

    const second = await CausewayClient.connect(server.url);
    const sub = await second.request({ type: "subscribe", scope: "all", fromSeq: lastSeq });
    expect(sub).toMatchObject({ success: true, data: { fromSeq: lastSeq, replaying: true } });
    await done;
    const finalSeq = Math.max(...writer.frames.filter(isJournalEvent).map((f) => (f.data as Data).seq as number));
    await second.waitFor((f) => isJournalEvent(f) && (f.data as Data).seq === finalSeq);
    await second.waitFor((f) => f.type === "subscription_live");

    // the resumed stream starts with the subscribe response (events broadcast to the new
    // connection before it are not part of it; they are replayed in order after it)
    const resumedAt = second.frames.findIndex((f) => f.type === "response" && (f as Data).command === "subscribe");
    const seen2 = second.frames.slice(resumedAt + 1).filter(isJournalEvent);
    // some of them really came from the journal (before the switch to live)
    const liveAt = second.frames.findIndex((f) => f.type === "subscription_live");
    expect(second.frames.slice(resumedAt + 1, liveAt).filter(isJournalEvent).length).toBeGreaterThan(0);
    const seqs = [...seen1, ...seen2].map((f) => (f.data as Data).seq as number);
    const start = seqs[0]!;
    // every seq from the first one seen to the last one written, exactly once, in order
    expect(seqs).toEqual(Array.from({ length: finalSeq - start + 1 }, (_, i) => start + i));
    // replayed-from-journal events are identical to what the writer saw live
    const live = new Map(writer.frames.filter(isJournalEvent).map((f) => [(f.data as Data).seq as number, f]));
    let compared = 0;
    for (const f of seen2) {
      const l = live.get((f.data as Data).seq as number);
      if (l) {
        expect(f).toEqual(l);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(100);
    expect(seen2.some((f) => (f.data as Data).replayed === true)).toBe(true);
    await Promise.all([writer.close(), second.close()]);
    expect((await server.stop()).code).toBe(0);
  });

  it("a session subscription from seq 0 replays that session's whole history in lane order", async () => {
    const server = await spawnServer();
    const c = await CausewayClient.connect(server.url);
    await c.request({ type: "create_session", sessionId: "h" });
    for (let i = 0; i < 20; i++) await c.request({ type: "set", sessionId: "h", path: "/n", value: i });
    const watcher = await CausewayClient.connect(server.url);
    await watcher.request({ type: "subscribe", sessionId: "h", fromSeq: 0 });
    await watcher.waitFor((f) => f.type === "subscription_live");
    const resumedAt = watcher.frames.findIndex((f) => f.type === "response" && (f as Data).command === "subscribe");
    const liveAt = watcher.frames.findIndex((f) => f.type === "subscription_live");
    const lane = watcher.frames
      .slice(resumedAt + 1, liveAt)
      .filter((f) => isJournalEvent(f) && (f.data as Data).laneKey === "session:h")
      .map((f) => (f.data as Data).laneSequence as number);
    // the create runs in the session's own lane: 21 commands × accepted, started, finished
    expect(lane).toEqual(Array.from({ length: 63 }, (_, i) => i + 1));
    await c.request({ type: "set", id: "after", sessionId: "h", path: "/n", value: 99 });
    await watcher.waitFor((f) => f.type === "command_finished" && (f.data as Data).commandId === "after");
    await Promise.all([c.close(), watcher.close()]);
    expect((await server.stop()).code).toBe(0);
  });
});
