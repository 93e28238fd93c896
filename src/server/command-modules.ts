/**
 * Loading what the operator names at startup: user command modules (`--commands`) and the policy
 * file, checked against every registered command type.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { defineCommand, type CommandDefinition } from "../commands/define.js";
import type { CommandRegistry } from "../commands/registry.js";
import { Policy, PolicyError } from "../governance/policy.js";

/** A command module that could not be loaded: the message names the module and the cause. */
export class CommandModuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandModuleError";
  }
}

async function importCommandModule(p: string): Promise<Record<string, unknown>> {
  const file = resolve(p);
  if (!existsSync(file)) throw new CommandModuleError(`command module ${p} does not exist (resolved to ${file}): check --commands`);
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const kind = err instanceof Error && err.name !== "Error" ? `${err.name}: ` : "";
    // Node reports no line for an ES module's syntax error; `node --check` does
    const hint = err instanceof SyntaxError ? ` (\`node --check ${p}\` shows the line of a syntax error)` : "";
    throw new CommandModuleError(`command module ${p} failed to load: ${kind}${message}${hint}`);
  }
}

/** Load user command modules: a default export (one definition or an array) and/or named exports. */
export async function loadCommandModules(paths: string[], registry: CommandRegistry): Promise<void> {
  for (const p of paths) {
    const mod = await importCommandModule(p);
    const found = new Set<CommandDefinition>();
    for (const value of Object.values(mod)) {
      for (const v of Array.isArray(value) ? value : [value]) if (isDefinition(v)) found.add(Object.isFrozen(v) ? v : defineCommand(v));
    }
    if (found.size === 0) throw new Error(`command module ${p} exports no command definitions (use defineCommand)`);
    for (const def of found) registry.register(def);
  }
}

/**
 * The policy file, parsed (Policy.load) and checked against the registered command types: a
 * `roles` key or a rule's `match.type` naming a type no module registers refuses the start, naming
 * the file, the JSON path and the type.
 */
export function loadPolicy(file: string | null, registry: CommandRegistry): Policy {
  if (!file) return Policy.open();
  const policy = Policy.load(file);
  const known = registry.types();
  const unknown = policy.unknownTypes(new Set(known));
  if (unknown.length === 0) return policy;
  const problems = unknown.map((u) => {
    const near = closestName(u.type, known);
    return `${u.path}: unknown command type "${u.type}"${near ? ` (did you mean "${near}"?)` : ""}`;
  });
  throw new PolicyError(`policy file ${file}: ${problems.join("; ")}; a policy names only registered command types (built-in, operator, or from --commands)`);
}

/** The candidate within two edits of `name` (Levenshtein), the closest first; undefined if none. */
function closestName(name: string, candidates: readonly string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d <= 2 && (best === undefined || d < best.d)) best = { name: c, d };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

function isDefinition(v: unknown): v is CommandDefinition {
  return typeof v === "object" && v !== null && typeof (v as CommandDefinition).type === "string" && typeof (v as CommandDefinition).run === "function" && "scope" in v;
}

