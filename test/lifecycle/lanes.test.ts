import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isServerLane, nodeOfServerLane, serverLaneOf, sessionLane } from "../../src/lifecycle/lanes.js";

describe("lane names (lifecycle/lanes)", () => {
  it("a node's server lane names its node; the one-node server lane and session lanes name none", () => {
    expect(nodeOfServerLane("server@node-a")).toBe("node-a");
    expect(nodeOfServerLane("server")).toBeNull();
    expect(nodeOfServerLane("session:server@x")).toBeNull();
    expect(isServerLane("server")).toBe(true);
    expect(isServerLane("server@n")).toBe(true);
    expect(isServerLane("servers")).toBe(false);
  });

  it("serverLaneOf and nodeOfServerLane are inverse for every node name; a session lane is never a server lane", () => {
    const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
    console.log(`lanes property seed ${seed} (replay: FC_SEED=${seed})`);
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (name) => {
        expect(nodeOfServerLane(serverLaneOf(name))).toBe(name);
        expect(isServerLane(serverLaneOf(name))).toBe(true);
        expect(isServerLane(sessionLane(name))).toBe(false);
      }),
      { seed },
    );
  });
});
