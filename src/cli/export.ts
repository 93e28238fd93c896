/**
 * `causeway export` and `causeway import`: a journal as a causeway trace (JSON lines) and back.
 *
 *   causeway export [--db PATH] [--session ID] [--from T] [--to T] [--config FILE] [--redact JSON] > trace.jsonl
 *   causeway export --store redis://host:port/db > trace.jsonl   # a Redis journal (#18), read-only
 *   causeway import trace.jsonl --db new.db        # or `-` for stdin
 *
 * Export reads the database read-only (safe while a server runs) and applies the configured
 * redaction rules (--redact > CAUSEWAY_REDACT > the config file's `redact`) once more; a --db that
 * does not exist is refused (never created). Import creates its --db (and its folder) or fills an
 * existing empty one, and refuses a journal that already holds records. Both draw a progress bar
 * on a terminal (src/cli/progress.ts). Journal modules are imported in the actions, so
 * `causeway --help` never loads the native SQLite module.
 */
import { once } from "node:events";
import { createReadStream, fstatSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Command } from "commander";
import { loadConfig, type ConfigFlags } from "../config/load.js";
import { errorMessage, MEMORY_DB, prepareWritableJournal, requireJournalFile, requireReadableFile } from "./db-path.js";
import { progressBar, progressOptions, type Progress, type ProgressFlags } from "./progress.js";

interface ExportFlags extends ProgressFlags {
  db?: string;
  store?: string;
  session?: string;
  from?: string;
  to?: string;
  config?: string;
  redact?: string;
}

function fail(err: unknown, path?: string): never {
  process.stderr.write(`causeway: ${errorMessage(err, path)}\n`);
  process.exit(1);
}

/**
 * The journal file to export: the --db itself, or for a Redis store (#18) a projection built afresh
 * by the read-only open (no lease, no write to Redis) in a temp dir, removed by `done`.
 */
async function journalFile(config: { db: string; store: string | null }): Promise<{ path: string; done(): void }> {
  if (config.store === null) {
    requireJournalFile(config.db, "export");
    return { path: config.db, done: () => {} };
  }
  const { RedisStore } = await import("../journal/redis/redis-store.js");
  const dir = mkdtempSync(join(tmpdir(), "causeway-export-"));
  const path = join(dir, "projection.db");
  const store = new RedisStore({ url: config.store, readOnly: true, projectionPath: path, timeoutMs: 30_000 });
  const done = (): void => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    store.open();
  } catch (err) {
    done();
    throw err;
  }
  return { path, done };
}

async function runExport(opts: ExportFlags): Promise<void> {
  let path: string | undefined;
  const bar = await progressBar("export", "rows", opts);
  try {
    const flags: ConfigFlags = {};
    if (opts.db !== undefined) flags.db = opts.db;
    if (opts.store !== undefined) flags.store = opts.store;
    if (opts.redact !== undefined) flags.redact = opts.redact;
    const config = loadConfig({ flags, env: process.env, configFile: opts.config });
    path = config.store === null ? config.db : undefined;
    const [{ exportTraceFile, parseTime }, { createRedactor }] = await Promise.all([import("../journal/export.js"), import("../journal/redaction.js")]);
    // validate the bounds before anything is written
    const from = opts.from !== undefined ? parseTime(opts.from, "--from") : undefined;
    const to = opts.to !== undefined ? parseTime(opts.to, "--to") : undefined;
    const redactor = createRedactor(config.redact);
    const journal = await journalFile(config);
    const out = process.stdout;
    out.on("error", (err: NodeJS.ErrnoException) => {
      // the reader went away (`causeway export | head`): stop quietly
      if (err.code === "EPIPE") process.exit(0);
      fail(err);
    });
    try {
      const onProgress = (seq: number, lastSeq: number): void => bar.update(seq, lastSeq);
      for (const line of exportTraceFile(journal.path, { sessionId: opts.session, from, to, redactor, onProgress })) {
        if (!out.write(`${line}\n`)) await once(out, "drain");
      }
    } finally {
      bar.stop();
      journal.done();
    }
  } catch (err) {
    bar.stop();
    fail(err, path);
  }
}

interface ImportFlags extends ProgressFlags {
  db: string;
}

type Input = NodeJS.ReadableStream & { bytesRead?: number };

/** The trace's lines, moving the bar by the bytes read (of `total`, when the size is known). */
async function* tracked(input: Input, total: number | undefined, bar: Progress): AsyncGenerator<string> {
  let n = 0;
  bar.update(0, total);
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    yield line;
    if (++n % 256 === 0) bar.update(input.bytesRead ?? 0, total);
  }
  bar.update(total ?? input.bytesRead ?? 0, total);
}

/** `-`: stdin (its size is known when it is a file); otherwise a readable trace file. */
function openTrace(trace: string): { input: Input; total: number | undefined; source: string } {
  if (trace === "-") {
    const st = fstatSync(0);
    return { input: process.stdin, total: st.isFile() ? st.size : undefined, source: "stdin" };
  }
  requireReadableFile(trace, "trace");
  return { input: createReadStream(trace), total: statSync(trace).size, source: trace };
}

async function runImport(trace: string, opts: ImportFlags): Promise<void> {
  let created = false;
  let store: import("../journal/sqlite-store.js").SqliteStore | undefined;
  const bar = await progressBar("import", "bytes", opts);
  try {
    if (opts.db === MEMORY_DB) throw new Error("import needs a database file (--db PATH)");
    const { input, total, source } = openTrace(trace);
    created = !prepareWritableJournal(opts.db).exists;
    const [{ SqliteStore }, { importTrace }] = await Promise.all([import("../journal/sqlite-store.js"), import("../journal/import.js")]);
    store = new SqliteStore({ path: opts.db, durability: "full" });
    store.open();
    const report = await importTrace(tracked(input, total, bar), store, { source });
    bar.stop();
    store.close();
    store = undefined;
    const plural = (k: number, word: string): string => `${k} ${word}${k === 1 ? "" : "s"}`;
    const notes = [plural(report.commands, "command"), plural(report.sessions, "live session")];
    if (report.renumbered > 0) notes.push(`${report.renumbered} renumbered (original seq in detail.originalSeq)`);
    if (report.unfinished > 0) notes.push(`${report.unfinished} unfinished: a server started on it will recover them`);
    process.stdout.write(`imported ${report.records} records (${notes.join(", ")}) from ${source} into ${opts.db}${created ? " (created)" : ""}\n`);
  } catch (err) {
    bar.stop();
    store?.close();
    if (created) for (const f of [opts.db, `${opts.db}-wal`, `${opts.db}-shm`]) rmSync(f, { force: true });
    fail(err, opts.db);
  }
}

/** Adds `export` and `import` to the causeway program. */
export function registerExportCommands(program: Command): void {
  const exportCmd = program
    .command("export")
    .description("write the journal as a causeway trace (JSON lines: a header, then one record per line) to stdout, redacted")
    .option("--db <path>", "journal file (default: the configured db, data/causeway.db)")
    .option("--store <url>", "export the Redis journal at this redis:// URL (read-only; config store, env CAUSEWAY_STORE)")
    .option("--session <id>", "only this session: its lane, plus the server-lane commands that created or deleted it")
    .option("--from <time>", "only records recorded at or after this time (epoch ms or ISO-8601)")
    .option("--to <time>", "only records recorded at or before this time (epoch ms or ISO-8601)")
    .option("--config <file>", "config file whose db and redact rules apply (env CAUSEWAY_CONFIG)")
    .option("--redact <json>", "redaction rules applied on export, over CAUSEWAY_REDACT and the config file")
    .showHelpAfterError()
    .addHelpText("after", "\nThe --db must exist (export never creates one). Exit codes: 0 exported; 1 failed.");
  progressOptions(exportCmd).action((opts: ExportFlags) => runExport(opts));

  const importCmd = program
    .command("import")
    .description("load a causeway trace into a new, empty journal (materialized tables rebuilt by the journal's own commit path)")
    .argument("<trace>", "trace file (JSON lines, from causeway export); - reads stdin")
    .requiredOption("--db <path>", "the journal to fill: created (with its folder) if missing; refused unless it is empty")
    .showHelpAfterError()
    .addHelpText("after", "\nExample: causeway export --db a.db | causeway import - --db b.db\nExit codes: 0 imported; 1 failed (a journal it created is removed again).");
  progressOptions(importCmd).action((trace: string, opts: ImportFlags) => runImport(trace, opts));
}
