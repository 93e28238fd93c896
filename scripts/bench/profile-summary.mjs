#!/usr/bin/env node
// Summarise a V8 .cpuprofile (node --cpu-prof): top functions by self time, and self time by file.
//   node scripts/bench/profile-summary.mjs bench/profiles/CPU.….cpuprofile [topN]
import { readFileSync } from "node:fs";

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error("usage: profile-summary.mjs <file.cpuprofile> [topN]");
  process.exit(1);
}
const TOP = Number(topArg ?? 30);
const prof = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const selfUs = new Map();
const dt = prof.timeDeltas;
for (let i = 0; i < prof.samples.length; i++) selfUs.set(prof.samples[i], (selfUs.get(prof.samples[i]) ?? 0) + (dt[i] ?? 0));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const short = (url) => url.replace(/^file:\/\//, "").replace(/.*\/node_modules\//, "nm/").replace(/.*\/dist\//, "dist/");
const fnKey = (n) => {
  const f = n.callFrame;
  return `${f.functionName || "(anonymous)"}  ${f.url ? `${short(f.url)}:${f.lineNumber + 1}` : ""}`;
};
const fileKey = (n) => {
  const u = n.callFrame.url;
  if (!u) return n.callFrame.functionName.startsWith("(") ? n.callFrame.functionName : "(native)";
  return short(u);
};
const agg = (keyOf) => {
  const m = new Map();
  for (const [id, us] of selfUs) {
    const k = keyOf(byId.get(id));
    m.set(k, (m.get(k) ?? 0) + us);
  }
  return [...m].sort((a, b) => b[1] - a[1]);
};
const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`);
console.log(`\ntop ${TOP} functions by self time`);
for (const [k, us] of agg(fnKey).slice(0, TOP)) console.log(`${pct(us)} ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
console.log(`\nself time by file`);
for (const [k, us] of agg(fileKey).slice(0, TOP)) console.log(`${pct(us)} ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);

// inclusive time of a few named functions (all call paths), to see where a subsystem's time goes
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const incl = new Map();
for (const [id, us] of selfUs) {
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = fnKey(byId.get(cur));
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + us);
  }
}
console.log(`\ntop ${TOP} functions by inclusive time`);
for (const [k, us] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${pct(us)} ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
