/**
 * The lifecycle tables the commit script checks, GENERATED as Lua source from the TypeScript ones
 * (lifecycle/transitions.ts, lifecycle/status.ts) — never written by hand, as transition-sql.ts
 * compiles the same table into SQL.
 */
import { TERMINAL_STATUSES, TRANSITION_PHASES, UNFINISHED_STATUSES } from "../../lifecycle/status.js";
import { TRANSITIONS, sourcesOf } from "../../lifecycle/transitions.js";
import type { CommandStatus } from "../../lifecycle/status.js";

const lit = (s: string): string => JSON.stringify(s); // a status / phase name is a plain ASCII word
const set = (xs: readonly string[]): string => `{${xs.map((x) => `[${lit(x)}]=true`).join(",")}}`;

/** `SOURCES[to][from] = true` when the table allows from → to. */
export function luaSourcesTable(): string {
  const targets = Object.keys(TRANSITIONS) as CommandStatus[];
  return `{${targets.map((to) => `[${lit(to)}]=${set(sourcesOf(to))}`).join(",")}}`;
}

/** The Lua preamble: SOURCES, TERMINAL, UNFINISHED, TRANSITION (the status-changing phases). */
export function luaLifecycleTables(): string {
  return [
    `local SOURCES = ${luaSourcesTable()}`,
    `local TERMINAL = ${set(TERMINAL_STATUSES)}`,
    `local UNFINISHED = ${set(UNFINISHED_STATUSES)}`,
    `local TRANSITION = ${set(TRANSITION_PHASES)}`,
  ].join("\n");
}
