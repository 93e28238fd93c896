/**
 * Plain HTTP routes on the WebSocket transport's HTTP server:
 * - `GET /metrics`: Prometheus text exposition (prom-client registry);
 * - `GET /readyz`: 200 when the journal is open, startup recovery is done, the last journal commit
 *   succeeded and the server is not shutting down; 503 otherwise. The body says which check failed,
 *   and `warnings` what an operator chose to accept (relaxed Redis durability).
 * `/healthz` (process up) stays in websocket.ts. Both answer HEAD too. A route returns true when it
 * handled the request.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

export interface ReadinessCheck {
  ready: boolean;
  checks: Record<string, boolean>;
  /** what does not make the server unready but an operator must know (e.g. relaxed Redis durability) */
  warnings: string[];
}

export interface HttpRoutesOptions {
  /** Prometheus exposition; absent: /metrics is not served */
  metrics?: () => Promise<{ contentType: string; body: string }>;
  readiness?: () => ReadinessCheck;
}

export type HttpRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  return q === -1 ? url : url.slice(0, q);
}

function send(req: IncomingMessage, res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body), "cache-control": "no-store" });
  res.end(req.method === "HEAD" ? undefined : body);
}

export function createHttpRoutes(opts: HttpRoutesOptions): HttpRoute {
  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const path = pathOf(req);
    if (path === "/metrics" && opts.metrics) {
      opts.metrics().then(
        (m) => send(req, res, 200, m.contentType, m.body),
        (err: unknown) => send(req, res, 500, "text/plain", `metrics collection failed: ${err instanceof Error ? err.message : String(err)}\n`),
      );
      return true;
    }
    if (path === "/readyz" && opts.readiness) {
      const r = opts.readiness();
      send(req, res, r.ready ? 200 : 503, "application/json", JSON.stringify({ ok: r.ready, checks: r.checks, warnings: r.warnings }));
      return true;
    }
    return false;
  };
}
