/**
 * The command registry: every command type the server knows (built-in, operator and user
 * commands alike). One type, one definition, one compiled schema.
 */
import type { CommandShape } from "../protocol/schemas.js";
import type { CommandDefinition } from "./define.js";

export class CommandRegistry {
  private readonly lane = new Map<string, CommandDefinition>();

  register(def: CommandDefinition): void {
    if (this.has(def.type)) throw new Error(`command type "${def.type}" is already registered`);
    this.lane.set(def.type, def);
  }

  get(type: string): CommandDefinition | undefined {
    return this.lane.get(type);
  }

  has(type: string): boolean {
    return this.lane.has(type);
  }

  /** every registered command type */
  types(): string[] {
    return [...this.lane.keys()];
  }

  laneCommands(): CommandDefinition[] {
    return [...this.lane.values()];
  }

  /** each type's envelope shape, for the protocol's schemas */
  shapes(): CommandShape[] {
    return this.laneCommands().map((def) => ({ type: def.type, params: def.params, sessionId: def.operator?.sessionId ?? (def.scope === "session" ? "required" : "optional") }));
  }
}
