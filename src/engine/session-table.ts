/**
 * Session state in memory, in two layers:
 * - `working`: what lanes execute against; a finished write updates it at once, inside its lane,
 *   so the next command of the lane observes it;
 * - `committed`: what the journal holds; updated when the batch commits.
 * A failed journal commit rolls `working` back to `committed`. Entries are immutable (a write
 * replaces the entry), so both layers share objects and a rollback copies no state.
 */
import type { RecoveredSession } from "../journal/types.js";
import type { SessionEffect } from "../lifecycle/status.js";

export interface SessionEntry {
  readonly sessionId: string;
  readonly state: unknown;
  readonly version: number;
  readonly createdAt: number;
  /** changes on every create, so a delete + re-create is detectable */
  readonly generation: number;
}

export class SessionTable {
  private working = new Map<string, SessionEntry>();
  private readonly committed = new Map<string, SessionEntry>();
  private generation = 0;

  load(sessions: RecoveredSession[]): void {
    for (const s of sessions) {
      const entry: SessionEntry = { sessionId: s.sessionId, state: s.state, version: s.version, createdAt: s.createdAt, generation: ++this.generation };
      this.working.set(s.sessionId, entry);
      this.committed.set(s.sessionId, entry);
    }
  }

  get(sessionId: string): SessionEntry | undefined {
    return this.working.get(sessionId);
  }

  has(sessionId: string): boolean {
    return this.working.has(sessionId);
  }

  size(): number {
    return this.working.size;
  }

  list(): SessionEntry[] {
    return [...this.working.values()];
  }

  /** Apply a finished command's effect to the working layer; returns the entry for a create/write. */
  apply(effect: SessionEffect, createdAt: number): SessionEntry | undefined {
    switch (effect.kind) {
      case "create": {
        const entry = { sessionId: effect.sessionId, state: effect.state, version: effect.version, createdAt, generation: ++this.generation };
        this.working.set(effect.sessionId, entry);
        return entry;
      }
      case "write": {
        const prev = this.working.get(effect.sessionId);
        if (!prev) throw new Error(`invariant: write to missing session ${effect.sessionId}`);
        const entry = { ...prev, state: effect.state, version: effect.version };
        this.working.set(effect.sessionId, entry);
        return entry;
      }
      case "delete":
        this.working.delete(effect.sessionId);
        return undefined;
    }
  }

  /** The batch holding this effect committed: the entry it produced becomes durable. */
  commit(effect: SessionEffect, entry: SessionEntry | undefined): void {
    if (effect.kind === "delete") this.committed.delete(effect.sessionId);
    else if (entry) this.committed.set(effect.sessionId, entry);
  }

  rollback(): void {
    this.working = new Map(this.committed);
  }
}
