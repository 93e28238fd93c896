/**
 * Issue #15 item 16: audit_journal used to run synchronously on the server thread, so while it
 * audited a sizeable journal (55k rows: 7.4 s) no other client was answered. Now it runs in slices
 * on its own read-only snapshot and yields to the event loop between them: commands sent after an
 * audit started are answered BEFORE the audit's response (ordering assertions, no timing). Real
 * servers over WebSocket and stdio on a journal written by the bench builder.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { CausewayClient } from "../helpers/ws-client.js";
import { ROOT, spawnServer, spawnStdio, tempDir } from "../helpers/spawn.js";

/** 20,000 commands over 200 sessions: about 60,000 journal rows */
const COMMANDS = 20_000;
let journal: string;

/** A copy of the built journal for one server (it takes the writer's lease and appends). */
function freshCopy(): string {
  const db = join(tempDir("causeway-audit-online-"), "journal.db");
  copyFileSync(journal, db);
  return db;
}

beforeAll(() => {
  journal = join(tempDir("causeway-audit-journal-"), "journal.db");
  const builder = pathToFileURL(join(ROOT, "scripts/bench/lib/journal.mjs")).href;
  // the bench builder imports dist/, which the spawned-server tests need built anyway
  execFileSync(process.execPath, ["--input-type=module", "-e", `const { buildJournal } = await import(${JSON.stringify(builder)}); buildJournal(process.argv[1], ${COMMANDS}, { sessions: 200 });`, journal], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "inherit"],
  });
}, 180_000);

const RESULT_KEYS = [
  "checkedRows", "commands", "durationMs", "fromSeq", "invariants", "lastSeq", "ok", "reexecution", "toSeq", "truncated",
  "unfinished", "unverifiable", "violationCount", "violations", "violationsTruncated",
].sort();

function expectCleanFullAudit(r: Record<string, unknown>): void {
  expect(r.success, JSON.stringify(r)).toBe(true);
  const data = r.data as Record<string, any>;
  expect(Object.keys(data).sort()).toEqual(RESULT_KEYS);
  expect(data).toMatchObject({ ok: true, truncated: false, violationCount: 0, violations: [] });
  expect(data.checkedRows).toBeGreaterThanOrEqual(COMMANDS * 3);
  expect(data.reexecution.matched).toBeGreaterThanOrEqual(COMMANDS);
}

describe("#15.16 audit_journal does not stall the server", () => {
  it("#15.16 while audit_journal audits a 60k-row journal, commands sent after it started (same and another WebSocket client) are answered before it", async () => {
    const server = await spawnServer({ db: freshCopy() });
    const a = await CausewayClient.connect(server.url);
    const b = await CausewayClient.connect(server.url);
    try {
      const audit = a.request({ type: "audit_journal", id: "audit", maxRows: 100_000 }, 180_000);
      let audited = false;
      void audit.then(() => (audited = true));
      // the same connection's frames are handled in order: once this is answered, the audit has started
      const marker = await a.request({ type: "get_state", id: "marker", sessionId: "s1" }, 180_000);
      expect(marker.success).toBe(true);
      expect(audited).toBe(false);
      // another client's round trips, one after the other, all answered while the audit runs
      for (let i = 0; i < 3; i++) {
        expect((await b.request({ type: "set", sessionId: "s2", path: "/during", value: i }, 180_000)).success).toBe(true);
        expect((await b.request({ type: "get_state", sessionId: "s2" }, 180_000)).data.state.during).toBe(i);
        expect(audited, `round trip ${i} was answered after the audit`).toBe(false);
      }
      const at = (id: string): number => a.frames.findIndex((f) => f.type === "response" && f.id === id);
      expectCleanFullAudit((await audit) as unknown as Record<string, unknown>);
      expect(at("marker")).toBeLessThan(at("audit"));
    } finally {
      a.terminate();
      b.terminate();
      await server.stop();
    }
  });

  it("#15.16 over stdio, commands pipelined behind audit_journal are answered before it, and an audit in flight at stdin EOF is still answered", async () => {
    // the grace period covers the audit still running at stdin EOF
    const server = spawnStdio({ db: freshCopy(), args: ["--shutdown-grace-ms", "170000"] });
    await server.waitFor((f) => f.type === "server_ready");
    server.send({ type: "audit_journal", id: "audit", maxRows: 100_000 });
    server.send({ type: "get_state", id: "read", sessionId: "s1" });
    server.send({ type: "set", id: "write", sessionId: "s1", path: "/during", value: 1 });
    server.end();
    const audit = await server.waitFor((f) => f.type === "response" && f.id === "audit", 180_000);
    expect((await server.exited).code).toBe(0);
    const at = (id: string): number => server.frames.findIndex((f) => f.type === "response" && f.id === id);
    expect(server.frames[at("read")]).toMatchObject({ success: true });
    expect(server.frames[at("write")]).toMatchObject({ success: true });
    expect(at("read")).toBeLessThan(at("audit"));
    expect(at("write")).toBeLessThan(at("audit"));
    expectCleanFullAudit(audit);
  });
});
