/**
 * WebSocket authentication at upgrade: `Authorization: Bearer <token>` checked against the tokens
 * file. Without a tokens file the server is open (loopback only, see bind.ts) and every connection
 * is the local identity.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Identity } from "./identity.js";
import type { TokenTable } from "./tokens.js";

export interface WebSocketAuth {
  /** null: no tokens file, every connection is `local` */
  tokens: TokenTable | null;
  local: Identity;
}

export type AuthFailure = "missing" | "malformed" | "unknown_token";

export type AuthResult = { ok: true; identity: Identity } | { ok: false; reason: AuthFailure };

/** close code and reason sent to a client that failed authentication */
export const AUTH_CLOSE_CODE = 1008;
export const AUTH_CLOSE_REASON = "unauthorized";

const BEARER = /^Bearer[ \t]+([\x21-\x7e]+)[ \t]*$/i;

export function authenticateRequest(headers: IncomingHttpHeaders, auth: WebSocketAuth): AuthResult {
  if (!auth.tokens) return { ok: true, identity: { actor: auth.local.actor, roles: [...auth.local.roles] } };
  const header = headers.authorization;
  if (header === undefined || header.trim() === "") return { ok: false, reason: "missing" };
  const m = BEARER.exec(header);
  if (!m) return { ok: false, reason: "malformed" };
  const identity = auth.tokens.authenticate(m[1]!);
  return identity ? { ok: true, identity } : { ok: false, reason: "unknown_token" };
}
