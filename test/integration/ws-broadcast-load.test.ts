/**
 * #17 (s4): 500 WebSocket clients on the default lifecycle broadcast, against the real server
 * (dist/cli/main.js) over loopback, with its default bounds (maxOutboundBytes 8 MiB, budget
 * 128 MiB). Every client creates its session and writes it at the same moment, so every commit
 * batch sends each of the 500 connections ~1,500 small frames in one turn and the kernel's TCP
 * memory runs short: writes are taken in part.
 *
 * This is the bench's s4 that hung with the first re-land of "one writev per turn"
 * (639c622): a writev the kernel took in part stayed counted whole in `bufferedAmount`, the
 * outbound budget saw ~134 MB where ~27 MB waited, cut ~180 clients as slow consumers, and their
 * commands were never answered. Here a cut connection fails the test at once; a hang is failed by
 * the test timeout. No timing is asserted.
 */
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { spawnServer } from "../helpers/spawn.js";

const CLIENTS = 500;
const ROUNDS = 2;
const RESPONSE = '{"type":"response"';

/** A lean client: 1.5 M frames arrive in this test, so only responses are parsed. */
class LeanClient {
  private readonly pending = new Map<string, (ok: boolean) => void>();
  constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer) => {
      if (data.subarray(0, RESPONSE.length).toString("latin1") !== RESPONSE) return;
      const frame = JSON.parse(data.toString("utf8")) as { id: string; success: boolean };
      this.pending.get(frame.id)?.(frame.success);
      this.pending.delete(frame.id);
    });
  }
  static connect(url: string, onClose: (code: number, reason: string) => void): Promise<LeanClient> {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once("close", (code, reason) => onClose(code, reason.toString()));
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(new LeanClient(ws)));
      ws.once("error", reject);
    });
  }
  request(frame: { id: string } & Record<string, unknown>): Promise<boolean> {
    const answered = new Promise<boolean>((resolve) => this.pending.set(frame.id, resolve));
    this.ws.send(JSON.stringify(frame));
    return answered;
  }
}

describe("WebSocket broadcast under load (#17 s4)", () => {
  it(
    `#17 ${CLIENTS} clients on the default broadcast, each writing its own session at once: every command is answered and no connection is cut`,
    async () => {
      const server = await spawnServer({ commands: false });
      let cut: (why: Error) => void = () => {};
      const aConnectionWasCut = new Promise<never>((_, reject) => (cut = reject));
      aConnectionWasCut.catch(() => {});
      let stopping = false;
      const onClose = (code: number, reason: string): void => {
        const why = server.stderr.find((l) => l.includes("slow consumer")) ?? "";
        if (!stopping) cut(new Error(`a client was closed by the server: ${code} ${reason}\n${why}`));
      };
      const clients: LeanClient[] = [];
      try {
        for (let i = 0; i < CLIENTS; i += 50) {
          clients.push(...(await Promise.all(Array.from({ length: 50 }, () => LeanClient.connect(server.url, onClose)))));
        }
        const all = (ps: Array<Promise<boolean>>): Promise<boolean[]> => Promise.race([Promise.all(ps), aConnectionWasCut]);
        const created = await all(clients.map((c, i) => c.request({ type: "create_session", id: `create-${i}`, sessionId: `m${i}` })));
        expect(created.every(Boolean)).toBe(true);
        for (let round = 0; round < ROUNDS; round++) {
          const set = clients.map((c, i) => c.request({ type: "set", id: `set-${i}-${round}`, idempotencyKey: `k-${i}-${round}`, sessionId: `m${i}`, path: "/k", value: round }));
          expect((await all(set)).every(Boolean)).toBe(true);
        }
      } finally {
        stopping = true;
        for (const c of clients) c.ws.terminate();
        await server.stop();
      }
    },
    180_000,
  );
});
