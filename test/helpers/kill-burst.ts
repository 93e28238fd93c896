/**
 * The kill -9 burst shared by the SQLite and Redis kill tests: three WebSocket clients keep
 * commands of every kind in flight against four sessions; the server is SIGKILLed when the K-th
 * response arrives (K from the seed). Afterwards, on a restarted server, every command a client saw
 * finish must replay byte-identical (`checkReplays`).
 */
import { expect } from "vitest";
import { CausewayClient } from "./ws-client.js";
import type { SpawnedServer } from "./spawn.js";

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Sent {
  cmd: Record<string, unknown>;
  client: number;
}

export interface Burst {
  killAfter: number;
  sent: Map<string, Sent>;
  /** what the clients saw finish (their command_finished events) */
  finished: Map<string, { success: boolean; code?: string; sessionVersion?: number }>;
  /** the response frames as sent, by command id */
  rawResponses: Map<string, string>;
}

export const WRITE_TYPES = new Set(["set", "patch", "side_effect"]);

/** Run the burst on `server` and SIGKILL it at the seeded moment; resolves once it exited. */
export async function killMidBurst(server: SpawnedServer, seed: number): Promise<Burst> {
  const rnd = mulberry32(seed);
  const clients = await Promise.all([0, 1, 2].map(() => CausewayClient.connect(server.url)));
  const sessions = ["a", "b", "c", "d"];
  for (const s of sessions) await clients[0]!.request({ type: "create_session", id: `create-${s}`, sessionId: s });

  // Each client keeps WINDOW commands in flight; the server is killed when the K-th burst
  // response arrives (K seeded), so commands are in every lifecycle state at that moment.
  const WINDOW = 48;
  const killAfter = 1 + Math.floor(rnd() * 400);
  const sent = new Map<string, Sent>();
  let responses = 0;
  let killed = false;
  let n = 0;
  const nextCommand = (): Record<string, unknown> => {
    const sid = sessions[Math.floor(rnd() * sessions.length)]!;
    const id = `s${seed}-${n++}`;
    const r = rnd();
    if (r < 0.45) return { type: "set", id, sessionId: sid, path: `/k${Math.floor(rnd() * 5)}`, value: n };
    if (r < 0.6) return { type: "patch", id, sessionId: sid, ops: [{ op: rnd() < 0.8 ? "add" : "test", path: "/p", value: n }] };
    if (r < 0.7) return { type: "get_state", id, sessionId: sid };
    if (r < 0.8) return { type: "side_effect", id, sessionId: sid, n: 1 };
    if (r < 0.9) return { type: "set", id, sessionId: sid, path: "/idem", value: n % 7, idempotencyKey: `key-${n % 7}` };
    const prev = [...sent.keys()];
    const dep = prev[Math.floor(rnd() * prev.length)];
    return dep ? { type: "set", id, sessionId: sid, path: "/dep", value: n, dependsOn: [dep] } : { type: "get_state", id, sessionId: sid };
  };
  const killedPromise = new Promise<void>((resolve) => {
    clients.forEach((client, ci) => {
      const send = (): void => {
        if (killed) return;
        const cmd = nextCommand();
        sent.set(cmd.id as string, { cmd, client: ci });
        client.sendRaw(cmd);
      };
      client.waitNext((f) => {
        if (f.type === "response" && typeof f.id === "string" && sent.has(f.id)) {
          responses++;
          if (!killed && responses >= killAfter) {
            killed = true;
            server.proc.kill("SIGKILL");
            resolve();
          } else send();
        }
        return false;
      }, 120_000).catch(() => {});
      for (let i = 0; i < WINDOW; i++) send();
    });
  });
  await killedPromise;
  const exit = await server.exited;
  expect(responses).toBeGreaterThanOrEqual(killAfter);
  expect(exit.signal).toBe("SIGKILL");
  for (const c of clients) c.terminate();

  // what the clients saw finish
  const finished = new Map<string, { success: boolean; code?: string; sessionVersion?: number }>();
  const rawResponses = new Map<string, string>();
  for (const c of clients) {
    c.frames.forEach((f, i) => {
      const d = f.data as Record<string, any> | undefined;
      if (f.type === "command_finished" && d && !d.replayed && sent.has(d.commandId)) finished.set(d.commandId, d as any);
      if (f.type === "response" && typeof f.id === "string" && sent.has(f.id)) rawResponses.set(f.id, c.raw[i]!);
    });
  }

  expect(finished.size).toBeGreaterThan(0);
  return { killAfter, sent, finished, rawResponses };
}

/** Replay every command the clients saw finish: same outcome, byte-identical response + `replayed`. */
export async function checkReplays(c: CausewayClient, burst: Burst): Promise<void> {
  for (const [id, ev] of burst.finished) {
    const before = c.raw.length;
    const r = await c.request(burst.sent.get(id)!.cmd);
    expect(r.replayed, `replay of ${id}`).toBe(true);
    expect(r.success).toBe(ev.success);
    expect(r.code).toBe(ev.code);
    expect(r.sessionVersion).toBe(ev.sessionVersion);
    const original = burst.rawResponses.get(id);
    if (original) {
      const replayText = c.raw.slice(before).find((t) => t.includes(`"type":"response"`) && t.includes(`"id":${JSON.stringify(id)}`))!;
      expect(replayText).toBe(`${original.slice(0, -1)},"replayed":true}`);
    }
  }
}

/** Wait until re-queued commands drained (health_check inFlight 0), on events, never a sleep. */
export async function drained(c: CausewayClient): Promise<void> {
  for (;;) {
    const h = await c.request({ type: "health_check" });
    if (h.data.inFlight === 0) return;
    await c.waitNext((f) => f.type === "command_finished" || f.type === "session_created", 2_000).catch(() => {});
  }
}
