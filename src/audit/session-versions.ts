/**
 * session_version_sequence: per session, create sets version 0, every successful write is the
 * previous version + 1, reads and failures never change it. Checked on every finished row: its
 * effect (kind, target, version) and the sessionVersion its outcome reports; then the effect is
 * applied to the audit's session table (which re-execution reads).
 */
import type { CommandRegistry } from "../commands/registry.js";
import type { JournalRecord } from "../journal/types.js";
import { isStateWrite, stateAfter } from "../lifecycle/effects.js";
import type { SessionEffect } from "../lifecycle/status.js";
import type { Findings } from "./findings.js";
import type { AuditSessions, SessionRec } from "./audit-sessions.js";

export class SessionVersions {
  constructor(
    private readonly sessions: AuditSessions,
    private readonly findings: Findings,
    private readonly registry: CommandRegistry,
  ) {}

  /**
   * A finished row: check its effect and the version its outcome reports, then apply the effect.
   * `acceptedAt`: the command's accepted row time (null when the command was never admitted).
   */
  step(r: JournalRecord, acceptedAt: number | null): void {
    const o = r.outcome;
    const e = r.effect;
    const base = { seq: r.seq, commandId: r.commandId };
    if (e) {
      if (o?.success === true) this.findings.check("session_version_sequence");
      else this.findings.expect(false, "session_version_sequence", () => ({
        ...base,
        sessionId: e.sessionId,
        message: `${r.commandId} failed but its finished row carries a session effect (${e.kind})`,
        evidence: { effect: summarize(e), outcome: o ?? null },
      }));
      this.applyEffect(r, e, acceptedAt);
    }
    if (!r.lane.startsWith("session:") || !o) return;
    const sid = r.lane.slice("session:".length);
    const rec = this.sessions.get(sid, r.seq);
    if (o.sessionVersion !== undefined) {
      if (rec?.live === false || (!rec && this.sessions.universeKnown)) {
        this.findings.expect(false, "session_version_sequence", () => ({
          ...base,
          sessionId: sid,
          message: `${r.commandId} reports sessionVersion ${o.sessionVersion} but session ${sid} does not exist at this point`,
          evidence: { reported: o.sessionVersion },
        }));
      } else if (rec && rec.version !== null) {
        if (o.sessionVersion === rec.version) this.findings.check("session_version_sequence");
        else this.findings.expect(false, "session_version_sequence", () => ({
          ...base,
          sessionId: sid,
          message: `${r.commandId} reports sessionVersion ${o.sessionVersion}; the journal puts session ${sid} at ${rec.version}`,
          evidence: { reported: o.sessionVersion, journal: rec.version, effect: e ? summarize(e) : null, success: o.success },
        }));
      } else if (rec) {
        this.sessions.set(sid, { ...rec, live: true, version: o.sessionVersion });
      }
    } else if (o.success && rec?.live && this.sessions.versionTracked(sid)) {
      this.findings.expect(false, "session_version_sequence", () => ({ ...base, sessionId: sid, message: `successful session command ${r.commandId} reports no sessionVersion`, evidence: { outcome: o } }));
    }
    const def = this.registry.get(r.type);
    if (def && def.scope === "session" && o.success) {
      const wrote = e !== undefined && isStateWrite(e);
      if (wrote === (def.effect === "write")) this.findings.check("session_version_sequence");
      else this.findings.expect(false, "session_version_sequence", () => ({
        ...base,
        sessionId: sid,
        message: def.effect === "write" ? `successful write ${r.type} has no write effect: the version did not advance` : `read ${r.type} changed the session (${e?.kind} effect)`,
        evidence: { effect: e ? summarize(e) : null },
      }));
    }
  }

  private applyEffect(r: JournalRecord, e: SessionEffect, acceptedAt: number | null): void {
    const id = e.sessionId;
    const prev = this.sessions.get(id, r.seq);
    const base = { seq: r.seq, commandId: r.commandId, sessionId: id };
    const tracked = this.sessions.versionTracked(id);
    switch (e.kind) {
      case "create": {
        if (prev?.live !== true) this.findings.check("session_version_sequence");
        else this.findings.expect(false, "session_version_sequence", () => ({ ...base, message: `create of session ${id}, which already exists (version ${String(prev?.version)})`, evidence: { effect: summarize(e) } }));
        if (e.version === 0) this.findings.check("session_version_sequence");
        else this.findings.expect(false, "session_version_sequence", () => ({ ...base, message: `create of session ${id} sets version ${e.version}, not 0`, evidence: { effect: summarize(e) } }));
        this.sessions.set(id, {
          live: true,
          version: tracked ? e.version : null,
          state: tracked ? e.state : undefined,
          stateKnown: tracked,
          createdAt: e.createdAt ?? r.recordedAt,
          createdAtCtx: acceptedAt,
          // an untracked session's lane (session filter) is not read: its later writes are unseen
          updatedAt: tracked ? r.recordedAt : null,
          deletedAt: null,
          touched: true,
        });
        return;
      }
      case "write":
      case "patch": {
        if (r.lane === `session:${id}`) this.findings.check("session_version_sequence");
        else this.findings.expect(false, "session_version_sequence", () => ({ ...base, message: `write effect for session ${id} in lane ${r.lane}`, evidence: { lane: r.lane } }));
        const exists = prev ? prev.live !== false : !this.sessions.universeKnown;
        if (exists) this.findings.check("session_version_sequence");
        else this.findings.expect(false, "session_version_sequence", () => ({ ...base, message: `write to session ${id}, which ${prev ? "is deleted" : "does not exist"}`, evidence: { effect: summarize(e) } }));
        const pv = prev && prev.live !== false ? prev.version : null;
        if (pv !== null) {
          if (e.version === pv + 1) this.findings.check("session_version_sequence");
          else this.findings.expect(false, "session_version_sequence", () => ({
            ...base,
            message: `session ${id}: write sets version ${e.version} after ${pv} (expected ${pv + 1})`,
            evidence: { previousVersion: pv, effectVersion: e.version },
          }));
        }
        const next = this.nextState(e, prev, base);
        this.sessions.set(id, {
          ...(prev ?? emptySession()),
          live: true,
          version: e.version,
          state: next.state,
          stateKnown: next.known,
          updatedAt: r.recordedAt,
          deletedAt: null,
          touched: true,
        });
        return;
      }
      case "delete": {
        const exists = prev ? prev.live !== false : !this.sessions.universeKnown;
        if (exists) this.findings.check("session_version_sequence");
        else this.findings.expect(false, "session_version_sequence", () => ({ ...base, message: `delete of session ${id}, which does not exist`, evidence: { effect: summarize(e) } }));
        this.sessions.set(id, { ...(prev ?? emptySession()), live: false, updatedAt: r.recordedAt, deletedAt: r.recordedAt, touched: true });
        return;
      }
    }
  }

  /** The state a write leaves: a patch applies to the known state before it (else the state is unknown). */
  private nextState(e: Extract<SessionEffect, { kind: "write" | "patch" }>, prev: SessionRec | undefined, base: Record<string, unknown>): { state: unknown; known: boolean } {
    if (e.kind === "write") return { state: e.state, known: true };
    if (!prev?.stateKnown || prev.live !== true) return { state: undefined, known: false };
    try {
      return { state: stateAfter(e, prev.state), known: true };
    } catch (err) {
      this.findings.expect(false, "session_version_sequence", () => ({ ...base, message: `session ${e.sessionId}: the patch to version ${e.version} does not apply: ${(err as Error).message}`, evidence: { effect: summarize(e) } }));
      return { state: undefined, known: false };
    }
  }
}

function emptySession(): SessionRec {
  return { live: null, version: null, state: undefined, stateKnown: false, createdAt: null, createdAtCtx: null, updatedAt: null, deletedAt: null, touched: false };
}

function summarize(e: SessionEffect): Record<string, unknown> {
  return e.kind === "delete" ? { kind: e.kind, sessionId: e.sessionId } : { kind: e.kind, sessionId: e.sessionId, version: e.version };
}
