/**
 * `causeway import` / `causeway export` as a user runs them (dist/cli/main.js): every trace
 * fixture imports into an empty journal and exports back to the same entries; a server started on
 * the imported journal answers the same outcomes (replays) and session states; refusals are one
 * clear line on stderr and exit 1.
 */
import { stateAfter } from "../../src/lifecycle/effects.js";
import { execFile, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { CausewayClient } from "../helpers/ws-client.js";
import type { JournalRecord } from "../../src/journal/types.js";
import { CLI, ROOT, spawnServer, tempDir } from "../helpers/spawn.js";

beforeAll(async () => {
  await promisify(execFile)(process.execPath, [join(ROOT, "scripts/build-if-needed.mjs")], { cwd: ROOT, timeout: 120_000 });
}, 120_000);

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Result> {
  const proc = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  proc.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => proc.once("close", (code) => resolve({ code, stdout, stderr })));
}

const fixture = (name: string): string => join(ROOT, "fixtures/traces", name);
const lines = (text: string): string[] => text.trim().split("\n");
const records = (ls: string[]): JournalRecord[] => ls.slice(1).map((l) => JSON.parse(l) as JournalRecord);

function original(r: JournalRecord): JournalRecord {
  if (!r.detail || !("originalSeq" in r.detail)) return r;
  const { originalSeq, originalLaneSeq, ...rest } = r.detail as Record<string, unknown>;
  const out: JournalRecord = { ...r, seq: originalSeq as number, laneSeq: originalLaneSeq as number };
  if (Object.keys(rest).length > 0) out.detail = rest;
  else delete out.detail;
  return out;
}

describe("causeway import / export (real CLI)", () => {
  // governed.jsonl: #15.6, every journal phase and governance status
  for (const name of ["basic.jsonl", "session-alpha.jsonl", "governed.jsonl"]) {
    it(`${name}: import into an empty journal, export again: the same entries`, async () => {
      const src = lines(readFileSync(fixture(name), "utf8"));
      const db = join(tempDir(), "imported.db");
      const imp = await cli(["import", fixture(name), "--db", db]);
      expect(imp.stderr).toBe("");
      expect(imp.code).toBe(0);
      expect(imp.stdout).toMatch(new RegExp(`^imported ${src.length - 1} records \\(`));
      const exp = await cli(["export", "--db", db]);
      expect(exp.code).toBe(0);
      const out = lines(exp.stdout);
      expect(JSON.parse(out[0]!)).toMatchObject({ format: "causeway-trace", version: 1, filters: {}, lastSeq: src.length - 1 });
      if (name !== "session-alpha.jsonl") expect(out.slice(1)).toEqual(src.slice(1));
      else expect(records(out).map(original)).toEqual(records(src));
    });
  }

  it("a server started on an imported journal replays the stored outcomes and has the same session states", async () => {
    const src = records(lines(readFileSync(fixture("basic.jsonl"), "utf8")));
    const db = join(tempDir(), "imported.db");
    expect((await cli(["import", fixture("basic.jsonl"), "--db", db])).code).toBe(0);

    // --session on the imported whole journal gives the session fixture's entries
    const alpha = await cli(["export", "--db", db, "--session", "alpha"]);
    expect(lines(alpha.stdout).slice(1)).toEqual(lines(readFileSync(fixture("session-alpha.jsonl"), "utf8")).slice(1));

    const server = await spawnServer({ db });
    const c = await CausewayClient.connect(server.url);
    const finished = (id: string) => src.find((r) => r.commandId === id && r.phase === "finished")!;
    const accepted = (id: string) => src.find((r) => r.commandId === id && r.phase === "accepted")!;
    for (const id of ["alpha-1", "alpha-login", "beta-fail", "beta-timeout", "create-beta"]) {
      const a = accepted(id);
      const envelope = { type: a.type, id, ...(a.sessionId !== null ? { sessionId: a.sessionId } : {}), ...(a.params as object) };
      if (a.dependsOn) Object.assign(envelope, { dependsOn: a.dependsOn });
      if (a.idempotencyKey) Object.assign(envelope, { idempotencyKey: a.idempotencyKey });
      if (a.ifSessionVersion !== undefined && a.ifSessionVersion !== null) Object.assign(envelope, { ifSessionVersion: a.ifSessionVersion });
      const r = await c.request(envelope);
      if (id === "alpha-login") {
        // its params were journaled redacted, so this is another fingerprint: a conflict
        expect(r).toMatchObject({ code: "replay_conflict" });
        continue;
      }
      const { command: _c, ...outcome } = finished(id).outcome!;
      expect(r).toMatchObject({ ...outcome, replayed: true });
    }
    const states = new Map<string, unknown>();
    for (const r of src) if (r.phase === "finished" && r.effect && r.effect.kind !== "delete") states.set(r.effect.sessionId, stateAfter(r.effect, states.get(r.effect.sessionId)));
    for (const s of ["alpha", "beta"]) expect(await c.request({ type: "get_state", sessionId: s })).toMatchObject({ success: true, data: { state: states.get(s) } });
    expect(await c.request({ type: "get_state", sessionId: "scratch" })).toMatchObject({ code: "session_not_found" });
    await c.close();
    expect((await server.stop("SIGTERM")).code).toBe(0);
  });

  it("refuses a non-empty journal, a bad trace (removing the new file) and bad options, with one line and exit 1", async () => {
    const dir = tempDir();
    const db = join(dir, "imported.db");
    expect((await cli(["import", fixture("basic.jsonl"), "--db", db])).code).toBe(0);
    const again = await cli(["import", fixture("basic.jsonl"), "--db", db]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^causeway: database .*imported\.db is not empty \(48 journal rows, 15 commands, 3 sessions\); import only into a new, empty database\n$/);

    const bad = join(dir, "bad.jsonl");
    writeFileSync(bad, `${readFileSync(fixture("basic.jsonl"), "utf8").split("\n")[0]}\nnot json\n`);
    const fresh = join(dir, "fresh.db");
    const r = await cli(["import", bad, "--db", fresh]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^causeway: .*bad\.jsonl line 2: invalid JSON/);
    expect(existsSync(fresh)).toBe(false);

    const missing = await cli(["import", join(dir, "nope.jsonl"), "--db", fresh]);
    expect(missing).toMatchObject({ code: 1, stdout: "" });
    expect(missing.stderr).toMatch(/^causeway: trace .*nope\.jsonl does not exist: check the path\n$/);

    const from = await cli(["export", "--db", db, "--from", "last tuesday"]);
    expect(from).toMatchObject({ code: 1, stdout: "", stderr: 'causeway: --from: expected epoch milliseconds or an ISO-8601 time, got "last tuesday"\n' });
    const nodb = await cli(["export", "--db", join(dir, "none.db")]);
    expect(nodb).toMatchObject({ code: 1, stdout: "" });
    expect(nodb.stderr).toMatch(/does not exist/);
    const rules = await cli(["export", "--db", db, "--redact", '{"login":"x"}']);
    expect(rules).toMatchObject({ code: 1, stdout: "", stderr: "causeway: --redact: login: expected a list of rule strings\n" });
  });
});
