/**
 * `causeway hash-token [token]`: print the SHA-256 hex digest of a bearer token, the form the
 * tokens file stores (`--tokens <file>`), so the file never holds plaintext.
 *
 *   causeway hash-token 's3cret'                 # from the argument
 *   openssl rand -hex 32 | causeway hash-token   # from stdin (one trailing newline is removed)
 *
 * The token is the exact text a client sends after `Authorization: Bearer `: printable ASCII
 * without spaces (RFC 6750 b64token is a subset).
 */
import type { Command } from "commander";
import { hashToken } from "../auth/tokens.js";

const TOKEN = /^[\x21-\x7e]+$/;

/** Validate a token as the Authorization header would carry it; returns an error message or null. */
export function tokenProblem(token: string): string | null {
  if (token.length === 0) return "the token is empty";
  if (!TOKEN.test(token)) return "a token must be printable ASCII without spaces (it is sent as `Authorization: Bearer <token>`)";
  return null;
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write("causeway hash-token: type the token, then Enter and Ctrl-D\n");
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

async function runHashToken(tokenArg: string | undefined): Promise<void> {
  // stdin: strip exactly one trailing line ending, so `echo tok | causeway hash-token` hashes "tok"
  const token = tokenArg ?? (await readStdin()).replace(/\r?\n$/, "");
  const problem = tokenProblem(token);
  if (problem) {
    process.stderr.write(`causeway hash-token: ${problem}\n`);
    process.exit(1);
  }
  process.stdout.write(`${hashToken(token)}\n`);
}

export function registerHashTokenCommand(program: Command): void {
  program
    .command("hash-token")
    .description("print the sha256 digest of a bearer token for the tokens file (reads stdin without an argument)")
    .argument("[token]", "the token (omit it to read one from stdin, which keeps it out of the shell history)")
    .action(runHashToken);
}
