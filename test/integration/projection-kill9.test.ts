/**
 * #17 the derived tables as a projection: a real server (child process, real file) killed with
 * SIGKILL after its batches were committed and acknowledged but before the derived tables were
 * flushed (`projectionFlushMs` far in the future). The file lags (meta `materialized_seq` below the
 * journal's last seq); the offline audit of it passes and names the tail it materialized; a store
 * reopened on it catches up to exactly the tables and recovered state a per-batch store builds from
 * the same journal; a restarted server answers every command as acknowledged.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { readWatermark } from "../../src/journal/projection.js";
import { SqliteStore } from "../../src/journal/sqlite-store.js";
import { dumpTables } from "../journal/helpers.js";
import { CausewayClient } from "../helpers/ws-client.js";
import { CLI, ROOT, TEST_COMMANDS, spawnServer, tempDir } from "../helpers/spawn.js";

const LAGGING = { CAUSEWAY_PROJECTION_FLUSH_MS: "600000", CAUSEWAY_PROJECTION_MAX_RECORDS: "1000000" };

function audit(db: string): { status: number | null; json: { ok: boolean; window: { projectionCaughtUp?: { fromSeq: number; toSeq: number } } }; text: string } {
  const j = spawnSync(process.execPath, [CLI, "audit", "--db", db, "--commands", TEST_COMMANDS, "--json"], { cwd: ROOT, encoding: "utf8" });
  const t = spawnSync(process.execPath, [CLI, "audit", "--db", db, "--commands", TEST_COMMANDS], { cwd: ROOT, encoding: "utf8" });
  expect(j.status, j.stdout.slice(0, 3000) + j.stderr).toBe(0);
  return { status: j.status, json: JSON.parse(j.stdout) as never, text: t.stdout };
}

/** The tables (and recovered state) of the killed file reopened, and of a per-batch store fed the same journal one record per batch. */
function reopenAgainstReference(db: string, dir: string): void {
  const copy = join(dir, "copy.db");
  const ro = new Database(db, { readonly: true });
  ro.prepare("VACUUM INTO ?").run(copy);
  ro.close();
  const reopened = new SqliteStore({ path: copy, durability: "off", takeOverLease: true });
  const recovered = reopened.open();
  delete recovered.staleLeaseTakenOver;
  const ref = new SqliteStore({ path: ":memory:", durability: "off" });
  ref.open();
  for (const r of reopened.readJournal({ afterSeq: 0, limit: 1_000_000 })) ref.commit([r]);
  const strip = (t: Record<string, unknown[]>): Record<string, unknown[]> => ({ ...t, journal: [] });
  expect(strip(dumpTables(reopened.database()))).toEqual(strip(dumpTables(ref.database())));
  reopened.close();
  ref.close();
  // the reference's recovered state: reopen a file built the same way
  const refFile = join(dir, "ref.db");
  const r2 = new SqliteStore({ path: refFile, durability: "off" });
  r2.open();
  const again = new SqliteStore({ path: copy, durability: "off" });
  again.open();
  for (const r of again.readJournal({ afterSeq: 0, limit: 1_000_000 })) r2.commit([r]);
  again.close();
  r2.close();
  const r3 = new SqliteStore({ path: refFile, durability: "off" });
  const refRecovered = r3.open();
  r3.close();
  expect(recovered).toEqual(refRecovered);
}

describe("#17 kill -9 between a journal commit and the projection's flush", () => {
  it("#17 kill -9 before the flush: the file lags, the audit passes naming the tail, a reopen catches up to the per-batch tables, a restart answers every command", async () => {
    const dir = tempDir("causeway-projection-kill-");
    const db = join(dir, "journal.db");
    const server = await spawnServer({ db, env: LAGGING });
    const c = await CausewayClient.connect(server.url);
    const sessions = ["s1", "s2", "s3"];
    for (const s of sessions) await c.request({ type: "create_session", id: `create-${s}`, sessionId: s });
    const answers = new Map<string, unknown>();
    const sent: Array<Promise<void>> = [];
    for (let n = 0; n < 90; n++) {
      const sid = sessions[n % 3]!;
      const id = `cmd-${n}`;
      const cmd = n % 3 === 2 ? { type: "patch", id, sessionId: sid, ops: [{ op: "add", path: `/p${n}`, value: n }] } : { type: "set", id, sessionId: sid, path: `/k${n % 5}`, value: n, idempotencyKey: `key-${n}` };
      sent.push(c.request(cmd).then((r) => void answers.set(id, r)));
    }
    await Promise.all(sent);
    const states = new Map<string, unknown>();
    for (const s of sessions) states.set(s, (await c.request({ type: "get_state", id: `state-${s}`, sessionId: s })).data);
    await c.close();
    server.proc.kill("SIGKILL");
    await server.exited;

    // the kill left derived tables behind the journal
    const raw = new Database(db, { readonly: true });
    const watermark = readWatermark(raw);
    const last = (raw.prepare("SELECT max(seq) AS s FROM journal").get() as { s: number }).s;
    raw.close();
    expect(watermark).toBeDefined();
    expect(watermark!).toBeLessThan(last);

    // the offline audit of the killed file passes and names the tail it materialized
    const a = audit(db);
    expect(a.json.ok).toBe(true);
    expect(a.json.window.projectionCaughtUp).toEqual({ fromSeq: watermark! + 1, toSeq: last });
    expect(a.text).toContain(`rows ${watermark! + 1}..${last} were materialized from the journal`);

    reopenAgainstReference(db, dir);

    // a restarted server (default projection) answers every acknowledged command as before
    const again = await spawnServer({ db });
    const c2 = await CausewayClient.connect(again.url);
    for (const s of sessions) expect((await c2.request({ type: "get_state", id: `state2-${s}`, sessionId: s })).data).toEqual(states.get(s));
    for (const [id, r] of answers) {
      const replay = await c2.request({ type: "get_command", id: `probe-${id}`, commandId: id });
      expect(replay.data.found, JSON.stringify(replay)).toBe(true);
      expect(replay.data.command.status, `${id}: ${JSON.stringify(r)}`).toBe("succeeded");
    }
    await c2.close();
    expect((await again.stop()).code).toBe(0);
    // closed cleanly: nothing lags, and the audit says nothing about it
    const after = audit(db);
    expect(after.json.window.projectionCaughtUp).toBeUndefined();
  });
});
