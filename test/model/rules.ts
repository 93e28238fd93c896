/**
 * The reference model's catalogue of the command rules it checks, written from PROTOCOL.md and
 * pi-server PROTOCOL 1.0.0 (not from the server's code): which lane a command runs in, which
 * idempotency scope its key lives in, which session its journal rows name, where
 * `ifSessionVersion` is allowed, the id a `create_session` without `sessionId` gets, and what a
 * fingerprint covers.
 */
import { createHash } from "node:crypto";
import { canon } from "./json.js";

/** Session-scope commands (built-in and the test fixtures): they run in their session's lane. */
export const SESSION_TYPES: ReadonlySet<string> = new Set(["get_state", "set", "patch", "emit", "side_effect"]);
/** Built-in server commands with a computable outcome. */
export const SERVER_TYPES: ReadonlySet<string> = new Set(["create_session", "delete_session", "list_sessions"]);
/**
 * Operator commands: journaled server commands like every other (admission, replay, conflicts,
 * dependsOn, lifecycle events), whose data is connection-, engine- or clock-dependent.
 */
export const OPERATOR_TYPES: ReadonlySet<string> = new Set([
  "health_check",
  "get_metrics",
  "get_lanes",
  "get_startup_recovery",
  "get_command_history",
  "get_command",
  "audit_journal",
  "list_pending",
  "subscribe",
  "unsubscribe",
  "approve_command",
  "reject_command",
  "cancel_command",
  "switch_session",
]);
export const WRITES: ReadonlySet<string> = new Set(["set", "patch", "side_effect"]);
export const FIXTURES: ReadonlySet<string> = new Set(["emit", "side_effect"]);

/** Server commands that name one session and run in its lane, FIFO with its own commands. */
const TARGETED = new Set(["create_session", "delete_session", "switch_session"]);
/** Commands that fail `session_not_found` at the lane head when their session is missing. */
const MUST_EXIST = new Set(["delete_session", "switch_session"]);

export type Env = { type: string; id?: string; sessionId?: unknown } & Record<string, unknown>;

export const isSessionScope = (type: string): boolean => SESSION_TYPES.has(type);

/** The id `create_session` picks without a `sessionId`: `s_` + base64url(sha256(command id))[0..16). */
export function generatedSessionId(commandId: string): string {
  return `s_${createHash("sha256").update(commandId).digest("base64url").slice(0, 16)}`;
}

/** The session a command names (its lane's session), or null for the server lane. */
export function targetOf(env: Env, commandId: string): string | null {
  if (isSessionScope(env.type)) return String(env.sessionId);
  if (env.type === "create_session") return typeof env.sessionId === "string" ? env.sessionId : generatedSessionId(commandId);
  if (TARGETED.has(env.type)) return String(env.sessionId);
  return null;
}

/** Rule 1: a command that names a session runs in `session:<id>`; everything else in `server`. */
export function laneOf(env: Env, commandId: string): string {
  const t = targetOf(env, commandId);
  return t === null ? "server" : `session:${t}`;
}

/** Rule 3: session-scope keys live per session lane; every server command's key server-wide. */
export function keyScopeOf(env: Env, commandId: string): string {
  return isSessionScope(env.type) ? laneOf(env, commandId) : "server";
}

/** Rule 4: `ifSessionVersion` is only for session-scope commands and `delete_session`. */
export const ifSessionVersionAllowed = (type: string): boolean => isSessionScope(type) || type === "delete_session";

/** At its lane head, the command's session must exist (else `session_not_found`). */
export const sessionMustExist = (type: string): boolean => isSessionScope(type) || MUST_EXIST.has(type);

/** Is this frame refused at admission for carrying `ifSessionVersion` where it is not supported? */
export const ifSessionVersionRefused = (env: Env): boolean => env.ifSessionVersion !== undefined && !ifSessionVersionAllowed(env.type);

/**
 * What a fingerprint covers (PROTOCOL.md "Replay and idempotency"): `v1:sha256:<hex>` of the
 * canonical JSON of the envelope without `id`, `idempotencyKey` and `timeoutMs`, unknown fields,
 * an empty `dependsOn` and repeated dependency ids included.
 */
export function fingerprintOf(env: Record<string, unknown>): string {
  const { id: _id, idempotencyKey: _k, timeoutMs: _t, ...rest } = env;
  return `v1:sha256:${createHash("sha256").update(canon(rest)).digest("hex")}`;
}

/**
 * The envelope as the journal keeps it (params at the top level; `dependsOn` once per id, absent
 * when empty), so a sent frame can be compared with an accepted row.
 */
export function normalizedOf(env: Record<string, unknown>): string {
  const { id: _id, idempotencyKey: _k, timeoutMs: _t, dependsOn, ...rest } = env;
  const deps = Array.isArray(dependsOn) ? [...new Set(dependsOn as string[])] : [];
  return canon(deps.length > 0 ? { ...rest, dependsOn: deps } : rest);
}
