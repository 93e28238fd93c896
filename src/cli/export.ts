/**
 * `causeway export` and `causeway import`: a journal as a causeway trace (JSON lines) and back.
 *
 *   causeway export [--db PATH] [--session ID] [--from T] [--to T] [--config FILE] [--redact JSON] > trace.jsonl
 *   causeway import trace.jsonl --db new.db
 *
 * Export reads the database read-only (safe while a server runs) and applies the configured
 * redaction rules (--redact > CAUSEWAY_REDACT > the config file's `redact`) once more. Import
 * writes only into a new, empty database. Journal modules are imported in the actions, so
 * `causeway --help` never loads the native SQLite module.
 */
import { once } from "node:events";
import { createReadStream, existsSync, rmSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Command } from "commander";
import { loadConfig, type ConfigFlags } from "../config/load.js";

interface ExportFlags {
  db?: string;
  session?: string;
  from?: string;
  to?: string;
  config?: string;
  redact?: string;
}

function fail(err: unknown): never {
  process.stderr.write(`causeway: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

async function runExport(opts: ExportFlags): Promise<void> {
  try {
    const flags: ConfigFlags = {};
    if (opts.db !== undefined) flags.db = opts.db;
    if (opts.redact !== undefined) flags.redact = opts.redact;
    const config = loadConfig({ flags, env: process.env, configFile: opts.config });
    const [{ default: Database }, { exportTrace, parseTime }, { createRedactor }] = await Promise.all([
      import("better-sqlite3"),
      import("../journal/export.js"),
      import("../journal/redaction.js"),
    ]);
    if (config.db === ":memory:") throw new Error("export needs a database file (--db PATH)");
    if (!existsSync(config.db)) throw new Error(`database ${config.db} does not exist`);
    // validate the bounds before anything is written
    const from = opts.from !== undefined ? parseTime(opts.from, "--from") : undefined;
    const to = opts.to !== undefined ? parseTime(opts.to, "--to") : undefined;
    const redactor = createRedactor(config.redact);
    const db = new Database(config.db, { readonly: true, fileMustExist: true });
    const out = process.stdout;
    out.on("error", (err: NodeJS.ErrnoException) => {
      // the reader went away (`causeway export | head`): stop quietly
      if (err.code === "EPIPE") process.exit(0);
      fail(err);
    });
    try {
      db.pragma("busy_timeout = 1000");
      for (const line of exportTrace(db, { sessionId: opts.session, from, to, redactor })) {
        if (!out.write(`${line}\n`)) await once(out, "drain");
      }
    } finally {
      db.close();
    }
  } catch (err) {
    fail(err);
  }
}

async function runImport(trace: string, opts: { db: string }): Promise<void> {
  const created = !existsSync(opts.db);
  let store: import("../journal/sqlite-store.js").SqliteStore | undefined;
  try {
    if (opts.db === ":memory:") throw new Error("import needs a database file (--db PATH)");
    if (!existsSync(trace)) throw new Error(`trace ${trace} does not exist`);
    const [{ SqliteStore }, { importTrace }] = await Promise.all([import("../journal/sqlite-store.js"), import("../journal/import.js")]);
    store = new SqliteStore({ path: opts.db, durability: "full" });
    store.open();
    const lines = createInterface({ input: createReadStream(trace, { encoding: "utf8" }), crlfDelay: Infinity });
    const report = await importTrace(lines, store, { source: trace });
    store.close();
    store = undefined;
    const plural = (k: number, word: string): string => `${k} ${word}${k === 1 ? "" : "s"}`;
    const notes = [plural(report.commands, "command"), plural(report.sessions, "live session")];
    if (report.renumbered > 0) notes.push(`${report.renumbered} renumbered (original seq in detail.originalSeq)`);
    if (report.unfinished > 0) notes.push(`${report.unfinished} unfinished: a server started on it will recover them`);
    process.stdout.write(`imported ${report.records} records (${notes.join(", ")}) from ${trace} into ${opts.db}\n`);
  } catch (err) {
    store?.close();
    if (created) for (const f of [opts.db, `${opts.db}-wal`, `${opts.db}-shm`]) rmSync(f, { force: true });
    fail(err);
  }
}

/** Adds `export` and `import` to the causeway program. */
export function registerExportCommands(program: Command): void {
  program
    .command("export")
    .description("write the journal as a causeway trace (JSON lines: a header, then one record per line) to stdout, redacted")
    .option("--db <path>", "journal file (default: the configured db, data/causeway.db)")
    .option("--session <id>", "only this session: its lane, plus the server-lane commands that created or deleted it")
    .option("--from <time>", "only records recorded at or after this time (epoch ms or ISO-8601)")
    .option("--to <time>", "only records recorded at or before this time (epoch ms or ISO-8601)")
    .option("--config <file>", "config file whose db and redact rules apply (env CAUSEWAY_CONFIG)")
    .option("--redact <json>", "redaction rules applied on export, over CAUSEWAY_REDACT and the config file")
    .showHelpAfterError()
    .action((opts: ExportFlags) => runExport(opts));

  program
    .command("import")
    .description("load a causeway trace into a new, empty journal (materialized tables rebuilt by the journal's own commit path)")
    .argument("<trace>", "trace file (JSON lines, from causeway export)")
    .requiredOption("--db <path>", "the new journal file; refused unless it is empty")
    .showHelpAfterError()
    .action((trace: string, opts: { db: string }) => runImport(trace, opts));
}
