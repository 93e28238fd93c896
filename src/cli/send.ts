/**
 * `causeway send`: commands as JSON lines on stdin (or one per argument) → responses as JSON lines
 * on stdout, in input order. By default each command waits for the previous response (a script's
 * commands run in order even across lanes); --max-in-flight N pipelines N, and then commands of
 * different lanes run concurrently (use dependsOn for causality). Missing ids and
 * idempotency keys are generated, and after a dropped connection unanswered commands are re-sent
 * with the same identity. Composes with jq:
 *
 *   printf '%s\n' '{"type":"create_session","sessionId":"s"}' | causeway send | jq -c '.data'
 */
import { createInterface } from "node:readline";
import { Option, type Command } from "commander";
import type { AnyCommand, Response } from "../client/index.js";
import { connectRemote, EXIT, intFlag, remoteOptions, runRemote, writeOut, type RemoteFlags } from "./remote.js";

interface SendFlags extends RemoteFlags {
  maxInFlight: string;
}

async function* inputs(args: string[]): AsyncGenerator<{ line: number; text: string }> {
  if (args.length > 0) {
    for (let i = 0; i < args.length; i++) yield { line: i + 1, text: args[i]! };
    return;
  }
  let n = 0;
  for await (const text of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    n++;
    if (text.trim().length > 0) yield { line: n, text };
  }
}

async function send(args: string[], flags: SendFlags): Promise<number> {
  const window = intFlag(flags.maxInFlight, "--max-in-flight", 1);
  const client = await connectRemote(flags);
  let code: number = EXIT.ok;
  const worse = (c: number): void => {
    if (c === EXIT.error || code === EXIT.ok) code = c;
  };
  // responses print in input order: each command's printing waits for the previous one's
  let printed: Promise<void> = Promise.resolve();
  const outstanding: Array<Promise<void>> = [];
  try {
    for await (const { line, text } of inputs(args)) {
      let cmd: unknown;
      try {
        cmd = JSON.parse(text);
      } catch (err) {
        process.stderr.write(`causeway send: ${args.length > 0 ? "argument" : "line"} ${line}: not JSON (${(err as Error).message})\n`);
        worse(EXIT.error);
        continue;
      }
      if (typeof cmd !== "object" || cmd === null || Array.isArray(cmd) || typeof (cmd as { type?: unknown }).type !== "string") {
        process.stderr.write(`causeway send: ${args.length > 0 ? "argument" : "line"} ${line}: a command is a JSON object with a string "type"\n`);
        worse(EXIT.error);
        continue;
      }
      const answer: Promise<Response | Error> = client.send(cmd as AnyCommand).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
      const before = printed;
      printed = (async () => {
        const r = await answer;
        await before;
        if (r instanceof Error) {
          process.stderr.write(`causeway send: ${args.length > 0 ? "argument" : "line"} ${line}: ${r.message}\n`);
          worse(EXIT.error);
          return;
        }
        if (!r.success) worse(EXIT.failed);
        await writeOut(JSON.stringify(r) + "\n");
      })();
      outstanding.push(printed);
      if (outstanding.length >= window) await outstanding.shift();
    }
    await printed;
  } finally {
    await client.close();
  }
  return code;
}

export function registerSendCommand(program: Command): void {
  const cmd = program
    .command("send")
    .description("send commands (JSON lines on stdin, or one per argument) and print the responses as JSON lines, in input order")
    .argument("[commands...]", "commands as JSON objects; without arguments, read JSON lines from stdin")
    .addOption(new Option("--max-in-flight <n>", "commands sent before waiting for the oldest response; above 1, commands of different lanes run concurrently (order them with dependsOn)").default("1"))
    .showHelpAfterError()
    .addHelpText(
      "after",
      "\nMissing ids and idempotency keys are generated; after a dropped connection unanswered commands are re-sent with\n" +
        "the same identity, so nothing runs twice. Give commands your own ids to make re-running the input safe.\n\n" +
        "Exit codes: 0 every command succeeded; 2 at least one response had success:false; 1 could not run\n" +
        "(bad input line, cannot connect, no response).\n\n" +
        "Example:\n  printf '%s\\n' '{\"type\":\"create_session\",\"sessionId\":\"s\"}' '{\"type\":\"get_state\",\"sessionId\":\"s\"}' \\\n" +
        "    | causeway send | jq -c 'select(.success) | .data'",
    );
  remoteOptions(cmd).action((commands: string[], flags: SendFlags) => runRemote(() => send(commands, flags)));
}

