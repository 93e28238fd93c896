/**
 * Issue #19, CLI finish: the database files of audit / export / backup / import / serve as a user
 * meets them. A --db typo is refused (never created), every file problem is one line naming the
 * file and the next step (permissions, not a causeway journal, malformed), with no stack trace and
 * exit code 1; `import -` reads stdin.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync, writeSync, closeSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT, runCli, tempDir, type CliResult } from "../helpers/spawn.js";

const TRACE = join(ROOT, "fixtures/traces/basic.jsonl");
const lines = (s: string): string[] => s.split("\n").filter((l) => l.length > 0);

/** One line on stderr (besides serve's JSON log lines), naming `file`, no stack frames, exit 1. */
function expectOneLineError(r: CliResult, file: string, what: RegExp, label: string): void {
  expect(r.code, `${label}: ${r.stderr}`).toBe(1);
  expect(lines(r.stderr).filter((l) => !l.startsWith('{"level"')), `${label}: ${r.stderr}`).toHaveLength(1);
  expect(r.stderr, label).toContain(file);
  expect(r.stderr, label).toMatch(what);
  expect(r.stderr, label).not.toMatch(/^\s+at /m);
}

/** Runs the CLI without the file-permission override root has (setpriv drops CAP_DAC_*), or null when that is impossible. */
const UNPRIVILEGED: string[] | null = (() => {
  if (process.getuid?.() !== 0) return [];
  const wrapper = ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", "--"];
  try {
    execFileSync(wrapper[0]!, [...wrapper.slice(1), "true"]);
    return wrapper;
  } catch {
    return null;
  }
})();

let dir: string;
let journal: string;

beforeAll(async () => {
  dir = tempDir("causeway-dbfiles-");
  journal = join(dir, "journal.db");
  const r = await runCli(["import", TRACE, "--db", journal]);
  expect(r.code, r.stderr).toBe(0);
});

describe("#19 CLI finish: database files", () => {
  it("#19.a import reads the trace from stdin when it is `-` (also through a pipe from export)", async () => {
    const db = join(tempDir(), "from-stdin.db");
    const r = await runCli(["import", "-", "--db", db], { stdin: readFileSync(TRACE, "utf8") });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^imported 48 records .* from stdin into .*from-stdin\.db \(created\)$/m);
    const exported = await runCli(["export", "--db", db]);
    expect(exported.code).toBe(0);
    const records = (text: string): unknown[] => lines(text).slice(1).map((l) => JSON.parse(l));
    expect(records(exported.stdout)).toEqual(records(readFileSync(TRACE, "utf8")));

    const piped = join(tempDir(), "piped.db");
    const sh = execFileSync("bash", ["-o", "pipefail", "-c", `"${process.execPath}" dist/cli/main.js export --db "${journal}" | "${process.execPath}" dist/cli/main.js import - --db "${piped}"`], { cwd: ROOT, encoding: "utf8" });
    expect(sh).toMatch(/^imported 48 records/);
  });

  it("#19.b audit, export and backup refuse a --db that does not exist, naming it, and create nothing", async () => {
    const folder = tempDir("causeway-typo-");
    const typo = join(folder, "jounral.db");
    const runs: Array<[string, string[]]> = [
      ["audit", ["audit", "--db", typo]],
      ["export", ["export", "--db", typo]],
      ["backup", ["backup", join(folder, "copy.db"), "--db", typo]],
    ];
    for (const [label, args] of runs) {
      const r = await runCli(args);
      expectOneLineError(r, typo, /does not exist: check --db/, label);
      expect(r.stdout, label).toBe("");
    }
    expect(readdirSync(folder)).toEqual([]);
  });

  it("#19.b import creates its --db (and the folders above it) and says so; a journal holding records is refused and kept", async () => {
    const db = join(tempDir(), "new", "deeper", "imported.db");
    const r = await runCli(["import", TRACE, "--db", db]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/into .*imported\.db \(created\)$/m);
    const again = await runCli(["import", TRACE, "--db", db]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(db);
    expect(lines(again.stderr)).toHaveLength(1);
    expect(existsSync(db)).toBe(true);
    expect((await runCli(["audit", "--db", db])).code).toBe(0);
  });

  it("#19.c a file that is not SQLite is named as not a causeway journal by every command", async () => {
    const junk = join(tempDir(), "notes.db");
    writeFileSync(junk, "these are my notes, not a database\n".repeat(200));
    const runs: Array<[string, string[]]> = [
      ["audit", ["audit", "--db", junk]],
      ["export", ["export", "--db", junk]],
      ["backup", ["backup", join(tempDir(), "copy.db"), "--db", junk]],
      ["import", ["import", TRACE, "--db", junk]],
      ["serve", ["serve", "--db", junk, "--port", "0"]],
    ];
    for (const [label, args] of runs) {
      expectOneLineError(await runCli(args, { killAfterMs: 30_000 }), junk, /is not a causeway journal\W+it is not an SQLite database/, label);
    }
    expect(readFileSync(junk, "utf8")).toMatch(/^these are my notes/);
  });

  it("#19.c an SQLite database without the journal tables is named as not a causeway journal (backup no longer copies it)", async () => {
    const folder = tempDir();
    const foreign = join(folder, "app.sqlite");
    const d = new Database(foreign);
    d.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)");
    d.close();
    const runs: Array<[string, string[]]> = [
      ["audit", ["audit", "--db", foreign]],
      ["export", ["export", "--db", foreign]],
      ["backup", ["backup", join(folder, "copy.db"), "--db", foreign]],
    ];
    for (const [label, args] of runs) expectOneLineError(await runCli(args), foreign, /is not a causeway journal/, label);
    expect(existsSync(join(folder, "copy.db"))).toBe(false);
  });

  it("#19.c a corrupt journal is reported as malformed with the next step: restore from `causeway backup`", async () => {
    const folder = tempDir();
    const broken = join(folder, "broken.db");
    copyFileSync(journal, broken);
    // keep the 100-byte SQLite header, overwrite the schema page behind it
    const fd = openSync(broken, "r+");
    writeSync(fd, Buffer.alloc(3000, 0xff), 0, 3000, 100);
    closeSync(fd);
    const runs: Array<[string, string[]]> = [
      ["audit", ["audit", "--db", broken]],
      ["export", ["export", "--db", broken]],
      ["backup", ["backup", join(folder, "copy.db"), "--db", broken]],
      ["serve", ["serve", "--db", broken, "--port", "0"]],
    ];
    for (const [label, args] of runs) {
      expectOneLineError(await runCli(args, { killAfterMs: 30_000 }), broken, /is malformed \(.*\): restore it from a `causeway backup` copy/, label);
    }
    expect(existsSync(join(folder, "copy.db"))).toBe(false);
  });

  it.skipIf(UNPRIVILEGED === null)("#19.c a file or folder without permission: `check permissions of` the file, for every command", async () => {
    const folder = tempDir();
    const locked = join(folder, "locked.db");
    copyFileSync(journal, locked);
    chmodSync(locked, 0o000);
    const readOnly = join(folder, "read-only.db");
    copyFileSync(journal, readOnly);
    chmodSync(readOnly, 0o444);
    const sealed = join(folder, "sealed");
    mkdirSync(sealed);
    chmodSync(sealed, 0o555);
    const as = { wrapper: UNPRIVILEGED!, killAfterMs: 30_000 };
    const runs: Array<[string, string[], string]> = [
      ["audit", ["audit", "--db", locked], locked],
      ["export", ["export", "--db", locked], locked],
      ["backup", ["backup", join(folder, "copy.db"), "--db", locked], locked],
      ["serve (read-only file)", ["serve", "--db", readOnly, "--port", "0"], readOnly],
      ["serve (sealed folder)", ["serve", "--db", join(sealed, "sub", "new.db"), "--port", "0"], sealed],
      ["import (sealed folder)", ["import", TRACE, "--db", join(sealed, "new.db")], sealed],
      ["backup (sealed destination)", ["backup", join(sealed, "copy.db"), "--db", journal], join(sealed, "copy.db")],
    ];
    for (const [label, args, file] of runs) {
      expectOneLineError(await runCli(args, as), file, new RegExp(`check permissions of ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`), label);
    }
    expect(readdirSync(sealed)).toEqual([]);
  });
});
