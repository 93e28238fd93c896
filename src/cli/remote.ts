/**
 * Shared plumbing of the CLI subcommands that talk to a running server (send, history, tail,
 * status): the connection options, connecting, exit codes, and output that survives `| head`.
 */
import { once } from "node:events";
import { Option, type Command } from "commander";
import { connect, type CausewayConnection } from "../client/index.js";

/** Exit codes of send / history / tail / status (README "CLI exit codes"). */
export const EXIT = {
  /** everything succeeded (status: the server is healthy) */
  ok: 0,
  /** could not run: bad arguments or input, cannot connect, connection lost for good */
  error: 1,
  /** ran, but a command answered `success: false` (status: the server reports itself unhealthy) */
  failed: 2,
} as const;

export const DEFAULT_URL = "ws://127.0.0.1:3141/";

export interface RemoteFlags {
  url: string;
  token?: string;
  timeout: string;
  reconnectAttempts: string;
}

/** --url, --token, --timeout, --reconnect-attempts on a subcommand. */
export function remoteOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--url <url>", "server WebSocket URL").env("CAUSEWAY_URL").default(DEFAULT_URL))
    .addOption(new Option("--token <token>", "bearer token for the WebSocket upgrade; prefer the env var (a flag shows in `ps`)").env("CAUSEWAY_TOKEN"))
    .addOption(new Option("--timeout <ms>", "client-side timeout per command, ms (0 = none)").default("30000"))
    .addOption(new Option("--reconnect-attempts <n>", "reconnect attempts after a dropped connection (unanswered commands are re-sent with the same id)").default("5"));
}

export class UsageError extends Error {}

export function intFlag(value: string, name: string, min = 0): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

export async function connectRemote(flags: RemoteFlags): Promise<CausewayConnection> {
  const attempts = intFlag(flags.reconnectAttempts, "--reconnect-attempts");
  // an empty CAUSEWAY_TOKEN (e.g. `CAUSEWAY_TOKEN= causeway status`) means no token
  const token = flags.token !== undefined && flags.token.length > 0 ? flags.token : undefined;
  try {
    return await connect(flags.url, {
      timeoutMs: intFlag(flags.timeout, "--timeout"),
      token,
      reconnect: attempts === 0 ? false : { maxAttempts: attempts },
    });
  } catch (err) {
    throw new UsageError(connectProblem(err, flags.url, token !== undefined));
  }
}

/** A failed first connection as one line with the next step. */
function connectProblem(err: unknown, url: string, hadToken: boolean): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/\b1008\b/.test(message) && /unauthorized/.test(message)) {
    return hadToken
      ? `${url} refused the token (1008 unauthorized): check CAUSEWAY_TOKEN (or --token) against the server's tokens file`
      : `${url} needs a token (1008 unauthorized): set CAUSEWAY_TOKEN (or pass --token, which shows in \`ps\`)`;
  }
  if (/ECONNREFUSED/.test(message)) return `${message} (is \`causeway serve\` running at ${url}? set --url or CAUSEWAY_URL)`;
  return message;
}

/** Write to stdout, waiting when the pipe is full; a reader that went away (EPIPE) ends the process quietly. */
export async function writeOut(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, "drain");
}

let epipeHandled = false;
export function exitQuietlyOnEpipe(): void {
  if (epipeHandled) return;
  epipeHandled = true;
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(EXIT.ok);
    throw err;
  });
}

/** Run a subcommand body: its result is the exit code; errors print one line and exit 1. */
export async function runRemote(body: () => Promise<number>): Promise<void> {
  exitQuietlyOnEpipe();
  let code: number;
  try {
    code = await body();
  } catch (err) {
    process.stderr.write(`causeway: ${err instanceof Error ? err.message : String(err)}\n`);
    code = EXIT.error;
  }
  process.exitCode = code;
}

export function isoTime(ms: number | undefined | null): string {
  if (typeof ms !== "number") return "-";
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

export function duration(ms: number | null | undefined): string {
  if (typeof ms !== "number") return "-";
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m${Math.floor((ms % 60_000) / 1000)}s`;
  return `${Math.floor(ms / 3_600_000)}h${Math.floor((ms % 3_600_000) / 60_000)}m`;
}

/** A plain text table: columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}
