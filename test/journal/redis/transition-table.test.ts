/**
 * #18 the commit script's lifecycle tables are generated from lifecycle/transitions.ts and
 * lifecycle/status.ts: evaluated by a real Redis (its Lua), every (from, to) pair the script allows
 * is exactly one the TypeScript table allows, and the terminal / unfinished / status-changing sets
 * are the TypeScript ones.
 */
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { luaLifecycleTables } from "../../../src/journal/redis/lua-tables.js";
import { TERMINAL_STATUSES, TRANSITION_PHASES, UNFINISHED_STATUSES, type CommandStatus } from "../../../src/lifecycle/status.js";
import { TRANSITIONS, canTransition } from "../../../src/lifecycle/transitions.js";
import { useRedisClient } from "../../helpers/redis-server.js";

const { redis, client } = useRedisClient();

/** The generated tables as Redis's Lua sees them: SOURCES as [from, to] pairs, the sets as lists. */
async function evaluated(): Promise<{ pairs: string[]; terminal: string[]; unfinished: string[]; transition: string[] }> {
  const lua = `${luaLifecycleTables()}
local function keys(t) local out = {} for k in pairs(t) do out[#out + 1] = k end table.sort(out) return out end
local pairs_ = {}
for to, from in pairs(SOURCES) do for f in pairs(from) do pairs_[#pairs_ + 1] = f .. '>' .. to end end
table.sort(pairs_)
return cjson.encode({pairs = pairs_, terminal = keys(TERMINAL), unfinished = keys(UNFINISHED), transition = keys(TRANSITION)})`;
  return JSON.parse((await client.eval(lua, 0)) as string);
}

describe("#18 Redis commit script: the generated transition table", () => {
  it("#18 the Lua transition table allows exactly the transitions of lifecycle/transitions.ts", async () => {
    const got = await evaluated();
    const statuses = Object.keys(TRANSITIONS) as CommandStatus[];
    const expected = statuses.flatMap((from) => statuses.filter((to) => canTransition(from, to)).map((to) => `${from}>${to}`)).sort();
    expect(got.pairs).toEqual(expected);
    expect(got.terminal).toEqual([...TERMINAL_STATUSES].sort());
    expect(got.unfinished).toEqual([...UNFINISHED_STATUSES].sort());
    expect(got.transition).toEqual([...TRANSITION_PHASES].sort());
  });
});
