/**
 * `causeway export` and `causeway import`: a journal as a causeway trace (JSON lines) and back.
 *
 *   causeway export [--db PATH] [--session ID] [--from T] [--to T] [--config FILE] [--redact JSON] > trace.jsonl
 *   causeway export --store redis://host:port/db > trace.jsonl   # a Redis journal (#18), read-only
 *   causeway import trace.jsonl --db new.db        # or `-` for stdin
 *   causeway import trace.jsonl --store redis://host:port/db   # into an empty Redis journal (#18)
 *
 * Export reads the database read-only (safe while a server runs) and applies the configured
 * redaction rules (--redact > CAUSEWAY_REDACT > the config file's `redact`) once more; a --db that
 * does not exist is refused (never created). Import creates its --db (and its folder) or fills an
 * existing empty one, and refuses a journal that already holds records (on Redis: an empty journal,
under its lease; journal/redis/redis-import.ts). Both draw a progress bar
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
  db?: string;
  store?: string;
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

const plural = (k: number, word: string): string => `${k} ${word}${k === 1 ? "" : "s"}`;

function importSummary(report: import("../journal/import.js").ImportReport, source: string, into: string): string {
  const notes = [plural(report.commands, "command"), plural(report.sessions, "live session")];
  if (report.renumbered > 0) notes.push(`${report.renumbered} renumbered (original seq in detail.originalSeq)`);
  if (report.unfinished > 0) notes.push(`${report.unfinished} unfinished: a server started on it will recover them`);
  return `imported ${report.records} records (${notes.join(", ")}) from ${source} into ${into}\n`;
}

async function runImport(trace: string, opts: ImportFlags): Promise<void> {
  if (opts.store !== undefined) return runRedisImport(trace, opts.store, opts);
  let created = false;
  let store: import("../journal/sqlite-store.js").SqliteStore | undefined;
  const db = opts.db ?? "";
  const bar = await progressBar("import", "bytes", opts);
  try {
    if (opts.db === undefined) throw new Error("import needs --db PATH (a new journal file) or --store redis://… (an empty Redis journal)");
    if (db === MEMORY_DB) throw new Error("import needs a database file (--db PATH)");
    const { input, total, source } = openTrace(trace);
    created = !prepareWritableJournal(db).exists;
    const [{ SqliteStore }, { importTrace }] = await Promise.all([import("../journal/sqlite-store.js"), import("../journal/import.js")]);
    store = new SqliteStore({ path: db, durability: "full" });
    store.open();
    const report = await importTrace(tracked(input, total, bar), store, { source });
    bar.stop();
    store.close();
    store = undefined;
    process.stdout.write(importSummary(report, source, `${db}${created ? " (created)" : ""}`));
  } catch (err) {
    bar.stop();
    store?.close();
    if (created) for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
    fail(err, opts.db);
  }
}

/** `--store redis://…`: into an empty Redis journal, under its lease (a running node refuses it journal_locked). */
async function runRedisImport(trace: string, url: string, opts: ImportFlags): Promise<void> {
  let store: import("../journal/redis/redis-store.js").RedisStore | undefined;
  const bar = await progressBar("import", "bytes", opts);
  try {
    if (opts.db !== undefined) throw new Error("import takes --db or --store, not both");
    const { input, total, source } = openTrace(trace);
    const [{ RedisStore }, { keyspace, redactUrl, DEFAULT_JOURNAL_NAME }, { importTraceToRedis }] = await Promise.all([
      import("../journal/redis/redis-store.js"),
      import("../journal/redis/keyspace.js"),
      import("../journal/redis/redis-import.js"),
    ]);
    const ks = keyspace(DEFAULT_JOURNAL_NAME);
    const where = `${redactUrl(url)} ${ks.prefix}`;
    store = new RedisStore({ url, timeoutMs: 30_000 });
    store.open();
    const report = await importTraceToRedis(tracked(input, total, bar), { store, url, ks, where }, { source });
    bar.stop();
    store.close();
    store = undefined;
    process.stdout.write(importSummary(report, source, `the Redis journal ${where}`));
  } catch (err) {
    bar.stop();
    store?.close();
    fail(err);
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
    .option("--db <path>", "the journal to fill: created (with its folder) if missing; refused unless it is empty")
    .option("--store <url>", "fill the Redis journal at this redis:// URL instead: refused unless it is empty, or while a node holds it")
    .showHelpAfterError()
    .addHelpText(
      "after",
      "\nExample: causeway export --db a.db | causeway import - --db b.db\n" +
        "Exit codes: 0 imported; 1 failed (a journal it created is removed again; a Redis journal is left empty again).",
    );
  progressOptions(importCmd).action((trace: string, opts: ImportFlags) => runImport(trace, opts));
}
