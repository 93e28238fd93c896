/**
 * Cross-site WebSocket hijacking guard. A browser attaches `Origin` to every WebSocket upgrade,
 * and a page cannot forge it; non-browser clients usually send none. An upgrade whose `Origin` is
 * present and not allowed is refused (HTTP 403) before the handshake, so a web page a developer
 * happens to open cannot drive the local server as its admin.
 *
 * Allowed: the loopback origins of the server's own port (`http://127.0.0.1:PORT`,
 * `http://localhost:PORT`, `http://[::1]:PORT`) and every origin of `--allow-origin`
 * (`*`: any origin; `null`: the opaque origin of sandboxed / file pages).
 */

/** Thrown at start-up for an `--allow-origin` entry that is not an origin; the CLI exits 2. */
export class AllowOriginError extends Error {
  readonly code = "config_invalid";
  readonly exitCode = 2;
  constructor(entry: string) {
    super(`--allow-origin: ${JSON.stringify(entry)} is not an origin (scheme://host[:port], "null" or "*")`);
    this.name = "AllowOriginError";
  }
}

/**
 * `scheme://host[:port]` in canonical form (lower case, default port dropped, IDN in punycode),
 * `"null"` for the opaque origin, or null when `text` is not an origin (a path, query, fragment or
 * credentials, or not a URL at all).
 */
export function normalizeOrigin(text: string): string | null {
  const trimmed = text.trim();
  if (trimmed === "null") return "null";
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return null;
  }
  if (url.host === "" || url.username || url.password || url.search || url.hash) return null;
  if (url.pathname !== "" && url.pathname !== "/") return null;
  return `${url.protocol}//${url.host}`;
}

/** Parse the configured list (`*`, `null`, or origins); throws AllowOriginError naming a bad entry. */
export function parseAllowedOrigins(entries: readonly string[]): string[] {
  return entries.map((entry) => {
    if (entry.trim() === "*") return "*";
    const origin = normalizeOrigin(entry);
    if (origin === null) throw new AllowOriginError(entry);
    return origin;
  });
}

export interface OriginPolicy {
  /** undefined: the request had no Origin header (not a browser), always allowed */
  allows(origin: string | undefined): boolean;
}

/** `allowed`: the output of parseAllowedOrigins; `port`: the port the server really listens on. */
export function originPolicy(allowed: readonly string[], port: number): OriginPolicy {
  if (allowed.includes("*")) return { allows: () => true };
  const set = new Set<string>([...allowed, `http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`]);
  return {
    allows(origin) {
      if (origin === undefined) return true;
      const normalized = normalizeOrigin(origin);
      return normalized !== null && set.has(normalized);
    },
  };
}
