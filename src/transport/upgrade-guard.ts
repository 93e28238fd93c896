/**
 * Checks on a WebSocket upgrade before the handshake completes (ws `verifyClient`), each refusal
 * answered with a plain HTTP status and logged with its reason:
 * - 403 when the request carries an `Origin` that is not allowed (origin.ts);
 * - 503 when `maxConnections` sockets are already open.
 * Authentication (tokens) happens after the handshake (src/governance/auth.ts).
 */
import type { IncomingMessage } from "node:http";
import type { Logger } from "../observability/logger.js";
import type { OriginPolicy } from "./origin.js";

export interface UpgradeInfo {
  origin: string | undefined;
  req: IncomingMessage;
}

export type VerifyCallback = (verified: boolean, code?: number, message?: string) => void;

export interface UpgradeGuardOptions {
  /** null until the server listens (the loopback origins need the real port) */
  origins: () => OriginPolicy | null;
  maxConnections: number;
  /** sockets open now, authenticated or not */
  openConnections: () => number;
  log: Logger;
}

export function upgradeGuard(options: UpgradeGuardOptions): (info: UpgradeInfo, cb: VerifyCallback) => void {
  const { log, maxConnections } = options;
  return (info, cb) => {
    const remoteAddress = info.req.socket.remoteAddress;
    const origins = options.origins();
    if (origins === null || !origins.allows(info.origin)) {
      log.warn(
        { audit: "origin_refused", origin: info.origin?.slice(0, 200), remoteAddress },
        "WebSocket upgrade refused (403): its Origin is not allowed; allow it with --allow-origin",
      );
      return cb(false, 403, "Forbidden: this Origin may not open a WebSocket to causeway (see --allow-origin)\n");
    }
    const open = options.openConnections();
    if (open >= maxConnections) {
      log.warn({ remoteAddress, open, maxConnections }, "WebSocket upgrade refused (503): maxConnections sockets are open");
      return cb(false, 503, `Service Unavailable: ${maxConnections} connections are open (maxConnections)\n`);
    }
    cb(true);
  };
}
