/**
 * The command registry: every command type the server knows, journaled (lane) commands and
 * immediate (observe) commands alike. One type, one definition, one compiled schema.
 */
import type { CommandDefinition, ParamsSchema } from "./define.js";

export interface ImmediateSpec {
  type: string;
  params?: ParamsSchema;
  /** which envelope `sessionId` use: "none" (forbidden), "optional", "required" */
  sessionId: "none" | "optional" | "required";
}

export class CommandRegistry {
  private readonly lane = new Map<string, CommandDefinition>();
  private readonly immediate = new Map<string, ImmediateSpec>();

  register(def: CommandDefinition): void {
    this.assertFree(def.type);
    this.lane.set(def.type, def);
  }

  registerImmediate(spec: ImmediateSpec): void {
    this.assertFree(spec.type);
    this.immediate.set(spec.type, spec);
  }

  get(type: string): CommandDefinition | undefined {
    return this.lane.get(type);
  }

  getImmediate(type: string): ImmediateSpec | undefined {
    return this.immediate.get(type);
  }

  has(type: string): boolean {
    return this.lane.has(type) || this.immediate.has(type);
  }

  laneCommands(): CommandDefinition[] {
    return [...this.lane.values()];
  }

  immediateCommands(): ImmediateSpec[] {
    return [...this.immediate.values()];
  }

  private assertFree(type: string): void {
    if (this.has(type)) throw new Error(`command type "${type}" is already registered`);
  }
}
