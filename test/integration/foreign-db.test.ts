/**
 * Issue #15 item 5: another application's SQLite file. `serve`, `import`, `audit`, `export` and
 * `backup` (the real CLI) refuse it with one line naming the file and saying it is not a causeway
 * journal, exit 1, and leave the file byte-for-byte as it was (no causeway tables, no WAL switch).
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT, runCli, runServerToExit, tempDir, type CliResult } from "../helpers/spawn.js";

beforeAll(async () => {
  await promisify(execFile)(process.execPath, [join(ROOT, "scripts/build-if-needed.mjs")], { cwd: ROOT, timeout: 120_000 });
}, 120_000);

const cli = (args: string[]): Promise<CliResult> => runCli(args);

/** An application's database: a table with a row, in rollback-journal mode, no application_id. */
function foreignDb(dir: string, appId = 0): string {
  const path = join(dir, `crm-${appId}.db`);
  const db = new Database(path);
  if (appId !== 0) db.pragma(`application_id = ${appId}`);
  db.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('ada'), ('grace')");
  db.close();
  return path;
}

describe("#15.5 foreign SQLite files", () => {
  it("#15.5 serve, import, audit, export and backup refuse another application's SQLite file and leave it unchanged", async () => {
    const dir = tempDir();
    for (const appId of [0, 0x46534c31]) {
      const db = foreignDb(dir, appId);
      const before = readFileSync(db);
      const refusal = new RegExp(`${db.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is not a causeway journal \\(.*\\); refusing to use it, nothing was changed`);
      const check = (label: string, r: { code: number | null; stderr: string }): void => {
        expect(r.code, label).toBe(1);
        expect(r.stderr, label).toMatch(refusal);
        expect(readFileSync(db).equals(before), `${label} changed the file`).toBe(true);
        for (const side of ["-wal", "-shm", "-journal"]) expect(existsSync(db + side), `${label} left ${side}`).toBe(false);
      };

      check("serve", await runServerToExit({ db }));
      check("import", await cli(["import", join(ROOT, "fixtures/traces/basic.jsonl"), "--db", db]));
      check("audit", await cli(["audit", "--db", db]));
      check("export", await cli(["export", "--db", db]));
      const dest = join(dir, `copy-${appId}.db`);
      check("backup", await cli(["backup", dest, "--db", db]));
      expect(existsSync(dest)).toBe(false);

      const raw = new Database(db, { readonly: true });
      expect(raw.prepare("SELECT name FROM sqlite_master ORDER BY name").all()).toEqual([{ name: "customers" }]);
      raw.close();
    }
  }, 60_000);
});
