/**
 * Who a connection acts as. WebSocket connections get the identity of their bearer
 * token, or the configured local identity when the server runs open on loopback; stdio always
 * runs as the local identity.
 */
export interface Identity {
  actor: string;
  roles: string[];
}

/** the identity of stdio connections and of every WebSocket connection when no tokens file is configured */
export function localIdentity(config: { localActor: string; localRoles: readonly string[] }): Identity {
  return { actor: config.localActor, roles: [...config.localRoles] };
}
