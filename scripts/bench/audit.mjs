#!/usr/bin/env node
// causeway audit benchmark: time a full `causeway audit` (the built CLI, as a user runs it) over a
// large journal.
//
//   npm run build && AUDIT_COMMANDS=1000000 node scripts/bench/audit.mjs
//
// The journal is the bench harness's (scripts/bench/lib/journal.mjs: records shaped exactly like
// the engine's, `set` 80 % / `get_state` 10 % / `patch` 10 %, one idempotency-key replay every
// 1,000 commands) over 16 sessions, built once and cached under bench/cache/. The audit
// re-executes every command. `npm run bench` (scenario 8) runs the same audit on its 1M journal.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { cachedJournal } from "./lib/journal.mjs";

const N = Number(process.env.AUDIT_COMMANDS ?? 1_000_000);
const RUNS = Number(process.env.AUDIT_RUNS ?? 1);
const SESSIONS = 16;
const CLI = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

const { db: DB, meta, built } = cachedJournal(N, { sessions: SESSIONS, log: (m) => process.stderr.write(`${m}\n`) });
const buildMs = built ? meta.buildSeconds * 1000 : null;
const size = statSync(DB).size;

const times = [];
let report = null;
let maxRssKb = null;
for (let r = 0; r < RUNS; r++) {
  const t0 = process.hrtime.bigint();
  const useTime = existsSync("/usr/bin/time");
  const args = useTime ? ["-f", "%M", process.execPath, CLI, "audit", "--db", DB, "--json"] : [CLI, "audit", "--db", DB, "--json"];
  const out = spawnSync(useTime ? "/usr/bin/time" : process.execPath, args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  if (out.status !== 0 && out.status !== 2) throw new Error(`audit failed (${out.status}): ${out.stderr}`);
  report = JSON.parse(out.stdout);
  if (useTime) maxRssKb = Number(out.stderr.trim().split("\n").pop());
}
const ms = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];
const rows = report.checkedRows;
console.log(`journal: ${DB} (${(size / 1e6).toFixed(0)} MB, ${N.toLocaleString("en-US")} commands, ${rows.toLocaleString("en-US")} rows)${buildMs !== null ? `, built in ${(buildMs / 1000).toFixed(1)} s` : ", reused"}`);
console.log(`causeway audit: ${(ms / 1000).toFixed(1)} s wall (median of ${RUNS}), ${Math.round(rows / (ms / 1000)).toLocaleString("en-US")} rows/s, ${Math.round(report.commands / (ms / 1000)).toLocaleString("en-US")} commands/s${maxRssKb ? `, peak RSS ${(maxRssKb / 1024).toFixed(0)} MB` : ""}`);
console.log(`report: ok=${report.ok}, re-executed ${report.reexecution.reexecuted} (matched ${report.reexecution.matched}), violations ${report.violations.length}, audit's own durationMs ${report.durationMs}`);
