/**
 * Server start-up for identities: apply the bind rule, load the tokens file, and say which mode the
 * WebSocket transport runs in. Called before the journal is opened, so a refused start has no
 * side effects.
 */
import type { CausewayConfig } from "../config/defaults.js";
import type { Logger } from "../observability/logger.js";
import type { WebSocketAuth } from "./bearer.js";
import { assertBindAllowed } from "./bind.js";
import { localIdentity } from "./identity.js";
import { loadTokens } from "./tokens.js";

/** Throws BindRefusedError (bind rule) or TokensFileError (unreadable / invalid tokens file). */
export function prepareWebSocketAuth(config: CausewayConfig, log: Logger): WebSocketAuth {
  const bind = assertBindAllowed(config.host, config);
  const tokens = config.tokensFile ? loadTokens(config.tokensFile) : null;
  const local = localIdentity(config);
  if (tokens) {
    log.info({ tokensFile: config.tokensFile, tokens: tokens.size }, "WebSocket clients authenticate with bearer tokens");
  } else if (bind === "insecure") {
    log.warn(
      { audit: "insecure_bind", host: config.host, actor: local.actor, roles: local.roles },
      `--insecure: listening on non-loopback host ${config.host} WITHOUT authentication; every client acts as "${local.actor}"`,
    );
  } else {
    log.info({ actor: local.actor, roles: local.roles }, "no tokens file: WebSocket is open on loopback, every client acts as the local actor");
  }
  return { tokens, local };
}
