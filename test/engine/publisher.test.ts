/**
 * #17 (s4): a frame that goes to N connections is serialized once and the same text is written to
 * each of them: lifecycle facts (`command`), session events (`event`) and server notices
 * (`broadcast`) alike. `serialize` is counted through a module mock.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Connection, FrameKind } from "../../src/protocol/connection.js";

const calls = vi.hoisted(() => ({ serialize: 0 }));
vi.mock("../../src/protocol/frames.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/protocol/frames.js")>();
  return {
    ...real,
    serialize: (frame: Parameters<typeof real.serialize>[0]): string => {
      calls.serialize++;
      return real.serialize(frame);
    },
  };
});

const { Publisher } = await import("../../src/engine/publisher.js");

class Recorder implements Connection {
  readonly transport = "websocket" as const;
  readonly actor = "local";
  readonly roles: readonly string[] = [];
  readonly closed = false;
  readonly sent: Array<[string, FrameKind]> = [];
  constructor(readonly id: string) {}
  send(frame: string, kind: FrameKind): boolean {
    this.sent.push([frame, kind]);
    return true;
  }
  bufferedBytes(): number {
    return 0;
  }
  close(): void {}
}

function world(n: number): { publisher: InstanceType<typeof Publisher>; conns: Recorder[] } {
  const publisher = new Publisher();
  const conns = Array.from({ length: n }, (_, i) => new Recorder(`c${i}`));
  for (const c of conns) {
    publisher.add(c);
    publisher.subscribeAll(c);
  }
  return { publisher, conns };
}

beforeEach(() => {
  calls.serialize = 0;
});

describe("Publisher fan-out (#17 s4)", () => {
  it("#17 a lifecycle fact, a session event and a server notice to 50 connections are each serialized once", () => {
    const { publisher, conns } = world(50);
    const fact = { type: "command_accepted", data: { commandId: "c-1", sessionId: "s1" } };
    publisher.command("s1", "local", fact, conns[0]!);
    expect(calls.serialize).toBe(1);
    publisher.event("s1", { type: "event", sessionId: "s1", event: { n: 1 } });
    expect(calls.serialize).toBe(2);
    publisher.broadcast({ type: "session_created", data: { sessionId: "s2" } });
    expect(calls.serialize).toBe(3);
    for (const c of conns) {
      expect(c.sent).toEqual([
        [JSON.stringify(fact), "event"],
        [JSON.stringify({ type: "event", sessionId: "s1", event: { n: 1 } }), "event"],
        [JSON.stringify({ type: "session_created", data: { sessionId: "s2" } }), "event"],
      ]);
    }
  });

  it("#17 a fact nobody receives is not serialized at all", () => {
    const publisher = new Publisher();
    const c = new Recorder("c0");
    publisher.add(c);
    publisher.setLifecycle(c, "none");
    publisher.command("s1", "local", { type: "command_accepted", data: { commandId: "c-1" } }, null);
    expect(calls.serialize).toBe(0);
    expect(c.sent).toEqual([]);
  });
});
