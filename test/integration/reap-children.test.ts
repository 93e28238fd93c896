/**
 * The test harness's own cleanup: a child started through test/helpers/spawn.ts that a test left
 * running (it failed before its cleanup) is killed after the file (test/setup/reap-children.ts).
 */
import { describe, expect, it } from "vitest";
import { reapChildren, runCli, spawnServer, spawnStdio } from "../helpers/spawn.js";

describe("test harness: children left running", () => {
  it("reapChildren kills every server still running, waits for its exit, and leaves stopped ones alone", async () => {
    const stopped = await spawnServer();
    await stopped.stop();
    const ws = await spawnServer();
    const stdio = spawnStdio();
    await stdio.waitFor((f) => f.type === "server_ready");
    const cli = runCli(["serve", "--db", ":memory:", "--port", "0"]); // a server started as a CLI command never exits by itself

    // the three live children, whatever the order they came up in
    await expect(reapChildren()).resolves.toBe(3);
    expect(await ws.exited).toEqual({ code: null, signal: "SIGKILL" });
    expect(await stdio.exited).toEqual({ code: null, signal: "SIGKILL" });
    expect((await cli).code).toBeNull();
    await expect(reapChildren()).resolves.toBe(0);
  });
});
