/**
 * Session state in memory, in two layers:
 * - `working`: what lanes execute against; a finished write updates it at once, inside its lane,
 *   so the next command of the lane observes it;
 * - `committed`: what the journal holds; updated when the batch commits.
 * A failed journal commit rolls `working` back to `committed`. Entries are immutable (a write
 * replaces the entry), so both layers share objects and a rollback copies no state. States are
 * frozen and shared structurally between versions (lifecycle/state-change.ts).
 *
 * The snapshot rule (issue #17) lives here: a session write is journaled as its `patch` while the
 * patches since the session's last whole state (create, snapshot, or the state restart loaded) stay
 * below the state's own JSON size; the write that would reach it is journaled as a `write` of the
 * whole state instead. So rebuilding any state reads at most about twice its size of journal.
 */
import type { RecoveredSession } from "../journal/types.js";
import { deepFreeze, jsonBytes, opsBytes } from "../lifecycle/state-change.js";
import type { SessionEffect } from "../lifecycle/status.js";

export interface SessionEntry {
  readonly sessionId: string;
  readonly state: unknown;
  readonly version: number;
  readonly createdAt: number;
  /** changes on every create, so a delete + re-create is detectable */
  readonly generation: number;
  /** UTF-8 bytes of JSON.stringify(state) */
  readonly bytes: number;
  /** JSON bytes of the patches journaled since the last whole state */
  readonly patchBytes: number;
}

/** A session write's new state and its size (settle.ts). */
export interface NextState {
  state: unknown;
  bytes: number;
}

export class SessionTable {
  private working = new Map<string, SessionEntry>();
  private readonly committed = new Map<string, SessionEntry>();
  private generation = 0;

  load(sessions: RecoveredSession[]): void {
    for (const s of sessions) {
      const state = deepFreeze(s.state);
      const entry: SessionEntry = { sessionId: s.sessionId, state, version: s.version, createdAt: s.createdAt, generation: ++this.generation, bytes: jsonBytes(state), patchBytes: s.patchBytes ?? 0 };
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

  /**
   * Apply a finished command's effect to the working layer (`next`: a write's new state, settle.ts).
   * Returns the effect to journal (a patch may become a snapshot `write`) and the entry it produced.
   */
  apply(effect: SessionEffect, createdAt: number, next?: NextState): { effect: SessionEffect; entry: SessionEntry | undefined } {
    switch (effect.kind) {
      case "create": {
        const state = deepFreeze(effect.state);
        const entry = { sessionId: effect.sessionId, state, version: effect.version, createdAt, generation: ++this.generation, bytes: jsonBytes(state), patchBytes: 0 };
        this.working.set(effect.sessionId, entry);
        return { effect, entry };
      }
      case "write":
      case "patch": {
        const prev = this.working.get(effect.sessionId);
        if (!prev) throw new Error(`invariant: write to missing session ${effect.sessionId}`);
        if (!next) throw new Error(`invariant: ${effect.kind} of session ${effect.sessionId} without its new state`);
        const patch = effect.kind === "patch" ? opsBytes(effect.ops) : 0;
        const snapshot = effect.kind === "write" || prev.patchBytes + patch >= next.bytes;
        const journaled: SessionEffect = snapshot && effect.kind === "patch" ? { kind: "write", sessionId: effect.sessionId, state: next.state, version: effect.version } : effect;
        const entry = { ...prev, state: next.state, version: effect.version, bytes: next.bytes, patchBytes: snapshot ? 0 : prev.patchBytes + patch };
        this.working.set(effect.sessionId, entry);
        return { effect: journaled, entry };
      }
      case "delete":
        this.working.delete(effect.sessionId);
        return { effect, entry: undefined };
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
