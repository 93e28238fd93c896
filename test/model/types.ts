/**
 * Observations the Level 5 checkers work on. The only thing shared with the server is the wire
 * contract (PROTOCOL.md; `src/protocol/types.ts` types) and the documented journal schema
 * (docs/journal-schema.md): no server code.
 */
import type { CommandEnvelope } from "../../src/protocol/types.js";

/** One frame a client sent, in the order that client sent it. */
export interface Send {
  client: number;
  /** position in the client's own send order */
  index: number;
  env: CommandEnvelope & { id: string };
  /** a wait-for cycle, refused at admission with `dependency_cycle`, is a legal outcome: it
   *  depends on an id that may be admitted after it (another client's, or a later one), or its
   *  own id is depended on by a frame that may be admitted before it */
  racyDeps: boolean;
}

/** A journal row (docs/journal-schema.md), JSON columns parsed. */
export interface Row {
  seq: number;
  lane: string;
  laneSeq: number;
  commandId: string;
  sessionId: string | null;
  phase: "accepted" | "started" | "finished" | "replayed" | "conflict" | "requeued";
  recordedAt: number;
  type: string;
  idempotencyKey: string | null;
  /** accepted rows: `session:<id>` (session-scope commands) or `server` (server commands) */
  idempotencyScope: string | null;
  /** accepted rows: `v1:sha256:<hex>` of the envelope without id, idempotencyKey, timeoutMs */
  fingerprint: string | null;
  dependsOn: string[] | null;
  ifSessionVersion: number | null;
  params: Record<string, unknown> | null;
  timeoutMs: number | null;
  status: string | null;
  outcome: Record<string, any> | null;
  effect: Record<string, any> | null;
  detail: Record<string, any> | null;
}

/** A response a client received: the parsed frame and its exact text. */
export interface Received {
  frame: Record<string, any>;
  raw: string;
  /** index of the frame in the client's receive order */
  at: number;
}

export interface Violation {
  invariant: string;
  message: string;
  seq?: number;
  commandId?: string;
}

export function fmtViolations(vs: Violation[], max = 15): string {
  const lines = vs.slice(0, max).map((v) => `  [${v.invariant}]${v.seq !== undefined ? ` seq ${v.seq}` : ""}${v.commandId ? ` ${v.commandId}` : ""}: ${v.message}`);
  if (vs.length > max) lines.push(`  … and ${vs.length - max} more`);
  return lines.join("\n");
}
