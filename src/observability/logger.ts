/**
 * Structured logs (pino) to stderr only: stdout is reserved for stdio protocol frames.
 */
import pino from "pino";

export type Logger = pino.Logger;
export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

/**
 * A pino logger writing synchronously to fd 2. Synchronous so that nothing is lost when the CLI
 * calls `process.exit` and so that a log line is never interleaved with protocol output.
 */
export function createLogger(level: LogLevel | string = "info", opts: { redactPaths?: string[] } = {}): Logger {
  const redact = opts.redactPaths && opts.redactPaths.length > 0 ? { redact: { paths: opts.redactPaths, censor: "[REDACTED]" } } : {};
  return pino(
    { name: "causeway", level, base: { pid: process.pid }, ...redact },
    pino.destination({ fd: 2, sync: true }),
  );
}
