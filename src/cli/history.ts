/**
 * `causeway history`: `get_command_history` (pages followed up to --limit), readable or --json
 * (one item per line); `--command ID` shows one command with `get_command` (trace, dependencies,
 * and for a governed command its approval state and every decision: who, when, step, comment).
 */
import { Option, type Command } from "commander";
import type { CausewayConnection, GovernanceDetail, HistoryItem, HistoryStatus, Command as TypedCommand } from "../client/index.js";
import { CommandFailedError } from "../client/index.js";
import { HISTORY_STATUSES } from "../journal/queries.js";
import type { GovernanceState } from "../lifecycle/status.js";
import { connectRemote, EXIT, intFlag, isoTime, remoteOptions, runRemote, table, UsageError, writeOut, type RemoteFlags } from "./remote.js";

interface HistoryFlags extends RemoteFlags {
  session?: string;
  type?: string;
  status?: string;
  actor?: string;
  lane?: string;
  since?: string;
  until?: string;
  order: string;
  limit: string;
  command?: string;
  json?: boolean;
}

/** The server's list (get_command_history's `status` enum), never a copy. */
const STATUSES: readonly string[] = HISTORY_STATUSES;

function timeFlag(v: string, name: string): number {
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new UsageError(`${name} must be epoch ms or an ISO-8601 time, got ${JSON.stringify(v)}`);
  return t;
}

async function list(client: CausewayConnection, flags: HistoryFlags): Promise<number> {
  const want = intFlag(flags.limit, "--limit", 1);
  const pageMax = client.server?.limits.historyPageMax ?? 500;
  const base: TypedCommand<"get_command_history"> = { type: "get_command_history", order: flags.order === "oldest" ? "oldest" : "newest" };
  if (flags.session !== undefined) base.sessionIdFilter = flags.session;
  if (flags.type !== undefined) base.commandType = flags.type;
  if (flags.status !== undefined) base.status = flags.status as HistoryStatus;
  if (flags.actor !== undefined) base.actor = flags.actor;
  if (flags.lane !== undefined) base.laneKey = flags.lane;
  if (flags.since !== undefined) base.fromTimestamp = timeFlag(flags.since, "--since");
  if (flags.until !== undefined) base.toTimestamp = timeFlag(flags.until, "--until");
  const items: HistoryItem[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.call({ ...base, limit: Math.min(pageMax, want - items.length), ...(cursor !== undefined ? { cursor } : {}) });
    for (const item of page.items) {
      if (flags.json) await writeOut(JSON.stringify(item) + "\n");
      items.push(item);
    }
    cursor = page.nextCursor;
  } while (cursor !== undefined && items.length < want);
  if (flags.json) return EXIT.ok;
  const rows = items.map((i) => [
    String(i.acceptedSeq),
    isoTime(i.acceptedAt),
    i.status,
    i.type,
    i.sessionId ?? "-",
    i.commandId,
    i.code !== undefined ? `${i.code}: ${i.error ?? ""}` : "",
  ]);
  await writeOut(table(["SEQ", "ACCEPTED", "STATUS", "TYPE", "SESSION", "ID", "ERROR"], rows));
  if (cursor !== undefined) await writeOut(`(more: raise --limit, now ${want})\n`);
  return EXIT.ok;
}

async function detail(client: CausewayConnection, flags: HistoryFlags, id: string): Promise<number> {
  const d = await client.call({ type: "get_command", commandId: id });
  if (flags.json) {
    await writeOut(JSON.stringify(d) + "\n");
    return d.found ? EXIT.ok : EXIT.failed;
  }
  if (!d.found) {
    await writeOut(`command ${id}: not found\n`);
    return EXIT.failed;
  }
  const c = d.command as Record<string, any>;
  const lines = [
    `command   ${c.commandId}`,
    `type      ${c.type}`,
    `lane      ${c.laneKey}`,
    `actor     ${c.actor}`,
    `status    ${c.status}`,
    `accepted  ${isoTime(c.acceptedAt)} (seq ${c.acceptedSeq})`,
    `finished  ${isoTime(c.finishedAt)}`,
    `outcome   ${c.outcome ? JSON.stringify(c.outcome) : "-"}`,
  ];
  await writeOut(lines.join("\n") + "\n\n");
  const trace = (d.trace ?? []) as Array<Record<string, any>>;
  await writeOut(table(["SEQ", "LANE SEQ", "PHASE", "RECORDED"], trace.map((t) => [String(t.seq), String(t.laneSequence), String(t.phase), isoTime(t.recordedAt)])));
  const deps = (d.dependencies ?? []) as Array<Record<string, any>>;
  if (deps.length > 0) await writeOut("\ndepends on: " + deps.map((x) => `${x.commandId} (${x.status})`).join(", ") + "\n");
  if (d.governance) await writeOut(governanceText(d.governance));
  return EXIT.ok;
}

/** The approval state (steps, approvers so far) and every decision of a governed command. */
function governanceText(g: GovernanceDetail): string {
  const state = g.state as Partial<GovernanceState> | null;
  if (state === null && g.decisions.length === 0 && g.pendingReason === null && g.tags.length === 0) return "";
  const lines = [`revision ${g.revision}`];
  if (g.policyVersion) lines.push(`policy ${g.policyVersion}`);
  if (g.tags.length > 0) lines.push(`tags ${g.tags.join(", ")}`);
  if (g.pendingReason) lines.push(`pending for ${g.pendingReason}${g.expiresAt !== null ? `, expires ${isoTime(g.expiresAt)}` : ""}`);
  if (g.notBefore !== null) lines.push(`not before ${isoTime(g.notBefore)}`);
  let out = `\ngovernance  ${lines.join("; ")}\n`;
  const steps = state?.steps ?? [];
  if (steps.length > 0) {
    const votes = state?.approvals ?? [];
    const rows = steps.map((s, i) => {
      const inStep = votes.filter((v) => v.step === i);
      const open = i === state?.step && g.pendingReason === "approval";
      const progress = `${inStep.length} of ${s.approvals}${open ? " (open)" : i < (state?.step ?? 0) ? " (done)" : ""}`;
      return [String(i + 1), s.name, progress, s.approverRoles.join(" or "), inStep.map((v) => v.actor).join(", ") || "-"];
    });
    out += "\n" + table(["STEP", "NAME", "APPROVALS", "ROLES", "APPROVERS"], rows);
  }
  if (g.decisions.length > 0) {
    const rows = g.decisions.map((x) => [String(x.seq), isoTime(x.at), x.kind, x.actor, x.step !== undefined ? String(x.step + 1) : "-", x.comment ?? ""]);
    out += "\n" + table(["SEQ", "AT", "DECISION", "ACTOR", "STEP", "COMMENT"], rows);
  }
  return out;
}

async function history(flags: HistoryFlags): Promise<number> {
  if (flags.status !== undefined && !STATUSES.includes(flags.status)) throw new UsageError(`--status must be one of ${STATUSES.join(", ")}`);
  const client = await connectRemote(flags);
  try {
    return flags.command !== undefined ? await detail(client, flags, flags.command) : await list(client, flags);
  } catch (err) {
    if (err instanceof CommandFailedError) {
      process.stderr.write(`causeway history: ${err.message}\n`);
      return EXIT.failed;
    }
    throw err;
  } finally {
    await client.close();
  }
}

export function registerHistoryCommand(program: Command): void {
  const cmd = program
    .command("history")
    .description("list commands from the journal (get_command_history), newest first; --command ID shows one command's trace and decisions")
    .option("--session <id>", "only this session's commands")
    .option("--type <type>", "only this command type")
    .addOption(new Option("--status <status>", "only commands with this status").choices([...STATUSES]))
    .option("--actor <actor>", "only commands sent by this actor")
    .option("--lane <laneKey>", "only this lane (session:<id> or server)")
    .option("--since <time>", "accepted at or after (epoch ms or ISO-8601)")
    .option("--until <time>", "accepted at or before (epoch ms or ISO-8601)")
    .addOption(new Option("--order <order>", "admission order").choices(["newest", "oldest"]).default("newest"))
    .option("--limit <n>", "commands to list (pages are followed)", "20")
    .option("--command <id>", "show this command: outcome, trace, dependencies, approvals and decisions with comments (get_command)")
    .option("--json", "JSON lines: one history item per line (with --command: the get_command data)")
    .showHelpAfterError()
    .addHelpText("after", "\nExit codes: 0 listed; 2 the server refused the query (or --command: not found); 1 could not run.\n\nExample:\n  causeway history --session s --status failed --json | jq -r '.commandId'");
  remoteOptions(cmd).action((flags: HistoryFlags) => runRemote(() => history(flags)));
}
