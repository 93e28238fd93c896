/**
 * The bind rule: without authentication the WebSocket server only listens on loopback. A
 * non-loopback host needs a tokens file (`--tokens`) or an explicit `--insecure`.
 */
import { BlockList, isIP } from "node:net";

export class BindRefusedError extends Error {
  readonly code = "bind_refused";
  /** the CLI exits with this code */
  readonly exitCode = 2;
  constructor(readonly host: string) {
    super(
      `refusing to listen on non-loopback host ${JSON.stringify(host)} without authentication: ` +
        `configure a tokens file (--tokens <file> / CAUSEWAY_TOKENS_FILE) or pass --insecure to run open anyway`,
    );
    this.name = "BindRefusedError";
  }
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/** 127.0.0.0/8, ::1 (any spelling, and IPv4-mapped 127.x), "localhost"; nothing else, no DNS */
export function isLoopbackHost(host: string): boolean {
  let h = host.trim().toLowerCase();
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  if (h === "localhost") return true;
  const family = isIP(h);
  if (family === 4) return LOOPBACK.check(h, "ipv4");
  if (family === 6) return LOOPBACK.check(h, "ipv6");
  return false;
}

export interface BindConfig {
  tokensFile: string | null;
  insecure: boolean;
}

/**
 * Throws BindRefusedError for a non-loopback host with neither a tokens file nor `insecure`.
 * Returns "insecure" when the server is about to listen open on a non-loopback host (the caller
 * logs a warning), otherwise "ok".
 */
export function assertBindAllowed(host: string, config: BindConfig): "ok" | "insecure" {
  if (isLoopbackHost(host) || config.tokensFile) return "ok";
  if (!config.insecure) throw new BindRefusedError(host);
  return "insecure";
}
