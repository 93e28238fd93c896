/**
 * `causeway tail`: follow journaled lifecycle events (accepted, started, finished, rejected,
 * requeued) as they commit, readable or --json. `--from-seq N` starts with the journal after N;
 * a dropped connection resumes from the last seq printed, with no gap and no duplicate.
 */
import type { Command } from "commander";
import type { LifecycleEvent } from "../client/index.js";
import { connectRemote, EXIT, intFlag, isoTime, remoteOptions, runRemote, writeOut, type RemoteFlags } from "./remote.js";

interface TailFlags extends RemoteFlags {
  session?: string;
  fromSeq?: string;
  count?: string;
  json?: boolean;
}

export function formatEvent(ev: LifecycleEvent): string {
  const d = ev.data;
  const phase = ev.type.replace(/^command_/, "");
  let result = "";
  if (ev.type === "command_finished") result = d.success ? "ok" : `${d.code ?? "failed"}${d.error ? `: ${d.error}` : ""}`;
  else if (ev.type === "command_rejected") result = `${d.code ?? ""}`;
  if (d.replayed) result += " (replayed)";
  return [String(d.seq).padStart(6), isoTime(d.recordedAt), phase.padEnd(8), d.commandType.padEnd(18), d.laneKey.padEnd(20), d.commandId, result].join("  ").trimEnd();
}

async function tail(flags: TailFlags): Promise<number> {
  const fromSeq = flags.fromSeq !== undefined ? intFlag(flags.fromSeq, "--from-seq") : undefined;
  const count = flags.count !== undefined ? intFlag(flags.count, "--count", 1) : undefined;
  const client = await connectRemote({ ...flags, timeout: flags.timeout });
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let seen = 0;
  try {
    const events = client.events({ ...(fromSeq !== undefined ? { fromSeq } : {}), ...(flags.session !== undefined ? { sessionId: flags.session } : {}), signal: stop.signal });
    for await (const ev of events) {
      await writeOut((flags.json ? JSON.stringify(ev) : formatEvent(ev)) + "\n");
      if (count !== undefined && ++seen >= count) break;
    }
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    await client.close();
  }
  return EXIT.ok;
}

export function registerTailCommand(program: Command): void {
  const cmd = program
    .command("tail")
    .description("follow lifecycle events as they are journaled (until Ctrl-C, or --count events)")
    .option("--session <id>", "only this session's lane")
    .option("--from-seq <n>", "first print every journaled event after this seq (0: the whole retained journal)")
    .option("--count <n>", "exit 0 after this many events")
    .option("--json", "one event frame per line, as JSON")
    .showHelpAfterError()
    .addHelpText(
      "after",
      "\nColumns: seq, recordedAt, phase, command type, lane, command id, result.\n" +
        "Exit codes: 0 stopped by Ctrl-C / SIGTERM or after --count events; 1 could not run or the connection was lost for good.\n\n" +
        "Example:\n  causeway tail --json | jq -c 'select(.type == \"command_finished\" and .data.success == false)'",
    );
  remoteOptions(cmd).action((flags: TailFlags) => runRemote(() => tail(flags)));
}
