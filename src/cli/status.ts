/**
 * `causeway status`: health, version, connections, sessions, in-flight / queued / running /
 * pending commands, journal state, and the deepest lanes (head command, running since, age of the
 * oldest queued command). Exit 0 healthy, 2 unhealthy, 1 unreachable.
 */
import type { Command } from "commander";
import { connectRemote, duration, EXIT, intFlag, remoteOptions, runRemote, table, writeOut, type RemoteFlags } from "./remote.js";

interface StatusFlags extends RemoteFlags {
  lanes: string;
  json?: boolean;
}

async function status(flags: StatusFlags): Promise<number> {
  const laneLimit = intFlag(flags.lanes, "--lanes", 1);
  const client = await connectRemote(flags);
  try {
    // one after another: each leaves itself out of its figures, but not the others in flight
    const health = await client.call({ type: "health_check" });
    const lanes = await client.call({ type: "get_lanes", limit: Math.min(laneLimit, 1000), queuedLimit: 0 });
    const metrics = await client.call({ type: "get_metrics" });
    const code = health.healthy ? EXIT.ok : EXIT.failed;
    if (flags.json) {
      await writeOut(JSON.stringify({ health, lanes, metrics }) + "\n");
      return code;
    }
    const finished = Object.values(metrics.commands.finished).reduce((acc, byOutcome) => {
      for (const [k, v] of Object.entries(byOutcome)) acc[k] = (acc[k] ?? 0) + v;
      return acc;
    }, {} as Record<string, number>);
    const lines = [
      `${health.healthy ? "healthy" : "UNHEALTHY"}${health.issues.length > 0 ? ": " + health.issues.join("; ") : ""}`,
      `server      causeway ${health.serverVersion} (protocol ${health.protocolVersion}), up ${duration(health.uptimeMs)}`,
      `connections ${health.connections}`,
      `sessions    ${health.sessions}`,
      `commands    in flight ${health.inFlight}, queued ${health.queued}, running ${health.running}, pending ${health.pending}`,
      `finished    ${Object.entries(finished).map(([k, v]) => `${k} ${v}`).join(", ") || "none yet"}`,
      `journal     ${health.journal.store}, durability ${health.journal.durability}, ${health.journal.healthy ? "healthy" : `FAILING: ${health.journal.lastError}`}, last seq ${health.journal.lastSeq}`,
      `lanes       ${lanes.total} active${lanes.truncated ? ` (deepest ${lanes.count} shown)` : ""}`,
    ];
    await writeOut(lines.join("\n") + "\n");
    if (lanes.lanes.length > 0) {
      const now = lanes.at;
      const rows = lanes.lanes.map((l) => [
        l.laneKey,
        String(l.depth),
        l.head ? `${l.head.commandId} (${l.head.type}, ${l.head.status}${l.head.waitingOn ? ` on ${l.head.waitingOn}` : ""})` : "-",
        l.runningSince !== null ? duration(now - l.runningSince) : "-",
        duration(l.oldestQueuedAgeMs),
      ]);
      await writeOut("\n" + table(["LANE", "DEPTH", "HEAD", "RUNNING FOR", "OLDEST QUEUED"], rows));
    }
    return code;
  } finally {
    await client.close();
  }
}

export function registerStatusCommand(program: Command): void {
  const cmd = program
    .command("status")
    .description("show server health, command counts (in flight, queued, running, pending) and the deepest lanes")
    .option("--lanes <n>", "lanes to list, deepest first", "10")
    .option("--json", "print {health, lanes, metrics} (health_check, get_lanes, get_metrics) as one JSON line")
    .showHelpAfterError()
    .addHelpText("after", "\nExit codes: 0 healthy; 2 the server reports itself unhealthy (journal failing, shutting down); 1 unreachable.");
  remoteOptions(cmd).action((flags: StatusFlags) => runRemote(() => status(flags)));
}
