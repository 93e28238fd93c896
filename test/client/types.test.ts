/**
 * Compile-time contract of causeway/client (checked by `npm run typecheck`): built-in commands are
 * typed, your own are added by declaration merging, and a known type with wrong params does not
 * compile. The runtime assertions only keep vitest honest about the file.
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import type { CausewayConnection, CommandType, Response } from "../../src/client/index.js";

declare module "../../src/client/index.js" {
  interface CausewayCommands {
    increment: { params: { sessionId: string; by: number }; data: { count: number } };
  }
}

// never called: these functions exist to be type-checked
async function typed(c: CausewayConnection): Promise<void> {
  const created = await c.send({ type: "create_session", sessionId: "s" });
  if (created.success) expectTypeOf(created.data.sessionInfo.sessionVersion).toEqualTypeOf<number>();
  else expectTypeOf(created.code).toBeString();
  expectTypeOf(await c.call({ type: "increment", sessionId: "s", by: 2 })).toEqualTypeOf<{ count: number }>();
  expectTypeOf(await c.call({ type: "get_lanes", limit: 5 })).toHaveProperty("lanes");
  expectTypeOf(await c.send({ type: "my_untyped", anything: [1] })).toEqualTypeOf<Response<any>>();
  // @ts-expect-error a known type with params of the wrong type
  await c.call({ type: "increment", sessionId: "s", by: "two" });
  // @ts-expect-error set needs a path
  await c.call({ type: "set", sessionId: "s", value: 1 });
}

describe("client types", () => {
  it("know the built-in command types and merged ones", () => {
    const known: CommandType[] = ["create_session", "get_metrics", "get_lanes", "increment"];
    expect(known).toHaveLength(4);
    expect(typeof typed).toBe("function");
  });
});
