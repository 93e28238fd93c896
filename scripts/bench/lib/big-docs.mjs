// Scenario 9 (#17 "writes cost what they change"): a one-key `set` on sessions whose documents are
// ~100 B, ~100 KB and ~1 MB, one WebSocket, one server per size. Reports commands/s (and the ratio to
// the small-document rate of the same run) and the bytes the server process wrote to storage per
// command (/proc/<pid>/io write_bytes: WAL frames, checkpoints, everything) over the measured part.
import { join } from "node:path";
import { rmSync } from "node:fs";
import { WsClient, pipeline } from "./clients.mjs";
import { startServer } from "./server.mjs";
import { procWriteBytes } from "./stats.mjs";
import { tempDir } from "./scenarios.mjs";

const SESSIONS = 4;
const CHUNK_KEYS = 100;

/** A JSON object of `bytes` (about) as `parts` sub-objects of 100 string fields, each set by its own command. */
function chunk(bytesPerChunk, seed) {
  const field = Math.max(1, Math.floor(bytesPerChunk / CHUNK_KEYS) - 10);
  const o = {};
  for (let i = 0; i < CHUNK_KEYS; i++) o[`f${i}`] = `${seed}`.padEnd(field, "x");
  return o;
}

async function seed(c, docBytes) {
  const ok = (f, what) => {
    if (!f.success) throw new Error(`s9: ${what} failed: ${JSON.stringify(f).slice(0, 300)}`);
  };
  for (let s = 0; s < SESSIONS; s++) ok(await c.request({ type: "create_session", sessionId: `d${s}` }), "create_session");
  if (docBytes < 1000) return;
  const parts = Math.max(1, Math.round(docBytes / 100_000));
  for (let s = 0; s < SESSIONS; s++) {
    for (let p = 0; p < parts; p++) ok(await c.request({ type: "set", sessionId: `d${s}`, path: `/p${p}`, value: chunk(docBytes / parts, p) }), "seeding set");
  }
}

/** One size: seed, warm up, then `commands` one-key sets with `window` in flight. */
export async function bigDocRun({ docBytes, commands, warmup, window }) {
  const dir = tempDir();
  const srv = await startServer({ db: join(dir, "s9.db"), durability: "full", label: `s9 ${docBytes} B` });
  try {
    const c = await WsClient.connect(srv.url);
    await c.request({ type: "subscribe", lifecycle: "none" });
    await seed(c, docBytes);
    const frame = (i, id) => `{"type":"set","id":"${id}","sessionId":"d${i % SESSIONS}","path":"/k","value":${i}}`;
    await pipeline(c, { total: warmup, window, frame });
    const before = procWriteBytes(srv.pid);
    const r = await pipeline(c, { total: commands, window, frame });
    const after = procWriteBytes(srv.pid);
    if (r.failed) throw new Error(`s9: ${r.failed} commands failed: ${c.failures.join(" | ")}`);
    await c.close();
    return { docBytes, commands, commandsPerSec: r.perSec, writtenBytesPerCommand: before === null || after === null ? null : (after - before) / commands, latencyMs: r.latencyMs };
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Scenario 9: small, 100 KB and 1 MB documents; ratios against the small one. */
export async function s9BigDocuments({ sizes, window, log }) {
  const out = {};
  for (const { docBytes, commands, warmup } of sizes) {
    const r = await bigDocRun({ docBytes, commands, warmup, window });
    out[docBytes] = r;
    log(`  ${docBytes.toLocaleString("en-US")} B documents: ${Math.round(r.commandsPerSec).toLocaleString("en-US")} commands/s, ${r.writtenBytesPerCommand === null ? "?" : Math.round(r.writtenBytesPerCommand).toLocaleString("en-US")} bytes written per command`);
  }
  const small = out[sizes[0].docBytes].commandsPerSec;
  for (const r of Object.values(out)) r.ratioToSmall = r.commandsPerSec / small;
  return out;
}
