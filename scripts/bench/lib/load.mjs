// The `set` load the WebSocket throughput and latency figures share: s1 and s2 against causeway,
// and the same load against the ceiling baseline (lib/baselines.mjs), so their ratios compare like
// with like. 64 sessions, each command a one-key `set` with an id and an idempotency key.
import { openLoop, pipeline } from "./clients.mjs";
import { procCpuUs, procWriteBytes, sleep } from "./stats.mjs";

export const SESSIONS = 64;

/** limits lifted for load that keeps many commands in flight on one connection */
export const BIG_LIMITS = ["--max-in-flight-per-connection", "1000000", "--max-queue-per-lane", "1000000"];

export const setFrame = (prefix) => (i, id) => `{"type":"set","id":"${id}","idempotencyKey":"k-${id}","sessionId":"${prefix}${i % SESSIONS}","path":"/k","value":${i}}`;

/** the server's group-commit counters (health_check.journal): batches, records */
export async function journalStats(client) {
  const f = await client.request({ type: "health_check" });
  return f.data?.journal ?? { batches: NaN, records: NaN };
}

export async function createSessions(client, prefix, n = SESSIONS) {
  const r = await pipeline(client, { total: n, window: n, frame: (i, id) => `{"type":"create_session","id":"${id}","sessionId":"${prefix}${i}"}` });
  if (r.failed) throw new Error(`create_session failed: ${client.failures.join(" | ")}`);
}

/**
 * s1's load on a connected client: 64 sessions, `warmup` commands, then `commands` pipelined
 * `set`s with `window` in flight; the server's group-commit counters read around the measured part.
 */
/**
 * s1's load. `pid`: the server, whose bytes written to storage per command are reported;
 * `storePid`: a store process beside it (redis-server), reported as storeWrittenBytesPerCommand.
 */
export async function pipelinedSets(client, { commands, window, warmup, label = "s1", pid = null, storePid = null }) {
  await createSessions(client, "b");
  await pipeline(client, { total: warmup, window, frame: setFrame("b") });
  const before = await journalStats(client);
  const written0 = pid === null ? null : procWriteBytes(pid);
  const storeWritten0 = storePid === null ? null : procWriteBytes(storePid);
  const cpu0 = pid === null ? null : procCpuUs(pid);
  const r = await pipeline(client, { total: commands, window, frame: setFrame("b") });
  const written1 = pid === null ? null : procWriteBytes(pid);
  const storeWritten1 = storePid === null ? null : procWriteBytes(storePid);
  const cpu1 = pid === null ? null : procCpuUs(pid);
  if (r.failed) throw new Error(`${label}: ${r.failed} commands failed: ${client.failures.join(" | ")}`);
  const after = await journalStats(client);
  const batches = after.batches - before.batches;
  // bytes the server process wrote to storage (WAL, checkpoints) per measured command
  const writtenBytesPerCommand = written0 === null || written1 === null ? null : (written1 - written0) / commands;
  const storeWrittenBytesPerCommand = storeWritten0 === null || storeWritten1 === null ? null : (storeWritten1 - storeWritten0) / commands;
  // the server's CPU time per measured command (all its threads): less noisy than commands/s on a shared VM
  const cpuUsPerCommand = cpu0 === null || cpu1 === null ? null : (cpu1 - cpu0) / commands;
  return { commands, window, sessions: SESSIONS, commandsPerSec: r.perSec, latencyMs: r.latencyMs, commits: batches, rowsPerCommit: batches ? (after.records - before.records) / batches : null, writtenBytesPerCommand, storeWrittenBytesPerCommand, cpuUsPerCommand };
}

/** s2's load on a connected client: 64 sessions, `warmup` commands 64 in flight, then an open loop at each rate. */
export async function openLoopSets(client, { rates, durationMs, warmup }) {
  await createSessions(client, "b");
  await pipeline(client, { total: warmup, window: 64, frame: setFrame("b") });
  const out = {};
  for (const rate of rates) {
    await sleep(300);
    out[rate] = await openLoop(client, { rate, durationMs, frame: setFrame("b") });
  }
  return out;
}
