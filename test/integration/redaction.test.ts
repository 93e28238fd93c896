/**
 * Redaction over the real process: a secret sent in a redacted param, and a token returned in a
 * redacted outcome field, never reach the database file, its WAL / shared-memory files (read
 * right after a SIGKILL, before any checkpoint), or any export. Replay and conflict detection by
 * id still work, within a run and after a restart (the fingerprint is the unredacted envelope's).
 */
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CausewayClient } from "../helpers/ws-client.js";
import { CLI, ROOT, spawnServer, tempDir } from "../helpers/spawn.js";

const RULES = { login: ["/password", "outcome:/data/token"] };
const REDACTED = "[REDACTED]";
const tokenOf = (user: string, password: string) => createHash("sha256").update(`token:${user}:${password}`).digest("hex").slice(0, 32);

/** The raw bytes of the database and its -wal / -shm files (whichever exist). */
function rawFiles(db: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const f of [db, `${db}-wal`, `${db}-shm`, `${db}-journal`]) if (existsSync(f)) out.set(f, readFileSync(f));
  return out;
}

function expectAbsent(where: string, bytes: Buffer | string, secrets: string[]): void {
  const buf = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
  for (const s of secrets) expect(buf.includes(Buffer.from(s, "utf8")), `${s} found in ${where}`).toBe(false);
}

function exportCli(args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, "export", ...args], { cwd: ROOT, encoding: "utf8" });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return r.stdout;
}

describe("redaction (real server)", () => {
  it("keeps a redacted password and token out of the db, WAL, SHM and exports; replays and conflicts still work", async () => {
    const dir = tempDir();
    const db = join(dir, "journal.db");
    const config = join(dir, "config.json");
    writeFileSync(config, JSON.stringify({ redact: RULES }));
    const password = `pw-${randomBytes(12).toString("hex")}`;
    const other = `pw-${randomBytes(12).toString("hex")}`;
    const password2 = `pw-${randomBytes(12).toString("hex")}`;
    const token = tokenOf("ada", password);
    const secrets = [password, other, password2, token, tokenOf("ada", other), tokenOf("bob", password2)];

    // run 1: rules from the config file
    const s1 = await spawnServer({ db, args: ["--config", config] });
    const c1 = await CausewayClient.connect(s1.url);
    await c1.request({ type: "create_session", sessionId: "s" });
    const login = { type: "login", id: "L1", sessionId: "s", user: "ada", password };
    const live = await c1.request(login);
    expect(live).toMatchObject({ success: true, data: { ok: true, user: "ada", token }, sessionVersion: 1 });
    // the retry replays the STORED outcome: its token is redacted
    expect(await c1.request(login)).toMatchObject({ success: true, replayed: true, data: { ok: true, user: "ada", token: REDACTED }, sessionVersion: 1 });
    expect(await c1.request({ ...login, password: other })).toMatchObject({ success: false, code: "replay_conflict" });
    await c1.close();
    expect((await s1.stop("SIGKILL")).signal).toBe("SIGKILL");

    // read the files before anything can checkpoint the WAL
    const files1 = rawFiles(db);
    expect(statSync(`${db}-wal`).size).toBeGreaterThan(0);
    for (const [f, bytes] of files1) expectAbsent(f, bytes, secrets);
    const all1 = Buffer.concat([...files1.values()]);
    expect(all1.includes(Buffer.from(REDACTED))).toBe(true); // the rows are there, redacted
    expectAbsent("server stderr", s1.stderr.join("\n"), secrets);

    for (const args of [[], ["--session", "s"], ["--from", "0", "--to", new Date(Date.now() + 60_000).toISOString()]]) {
      const trace = exportCli(["--db", db, "--config", config, ...args]);
      expect(trace).toContain(REDACTED);
      expectAbsent(`export ${args.join(" ")}`, trace, secrets);
    }

    // run 2: rules from CAUSEWAY_REDACT; the fingerprint still recognizes the retry and the conflict
    const s2 = await spawnServer({ db, env: { CAUSEWAY_REDACT: JSON.stringify(RULES) } });
    const c2 = await CausewayClient.connect(s2.url);
    expect(await c2.request(login)).toMatchObject({ success: true, replayed: true, data: { token: REDACTED }, sessionVersion: 1 });
    expect(await c2.request({ ...login, password: other })).toMatchObject({ success: false, code: "replay_conflict" });
    expect(await c2.request({ type: "login", id: "L2", sessionId: "s", user: "bob", password: password2 })).toMatchObject({ data: { token: tokenOf("bob", password2) }, sessionVersion: 2 });
    // only the user name was stored in the session state
    expect(await c2.request({ type: "get_state", sessionId: "s" })).toMatchObject({ data: { state: { user: "bob", logins: 2 } } });
    await c2.close();
    expect((await s2.stop("SIGKILL")).signal).toBe("SIGKILL");

    const files2 = rawFiles(db);
    for (const [f, bytes] of files2) expectAbsent(f, bytes, secrets);
    expectAbsent("server stderr", s2.stderr.join("\n"), secrets);
    const trace = exportCli(["--db", db, "--redact", JSON.stringify(RULES)]);
    expectAbsent("export after restart", trace, secrets);
    const rows = trace.trim().split("\n").slice(1).map((l) => JSON.parse(l) as Record<string, any>);
    const accepted = rows.filter((r) => r.type === "login" && r.phase === "accepted");
    expect(accepted.map((r) => r.params)).toEqual([{ user: "ada", password: REDACTED }, { user: "bob", password: REDACTED }]);
    expect(rows.filter((r) => r.type === "login" && r.phase === "replayed")).toHaveLength(2);
    expect(rows.filter((r) => r.type === "login" && r.phase === "conflict")).toHaveLength(2);
  });
});
