#!/usr/bin/env node
/**
 * The `causeway` command line. `causeway serve --help` lists every option (generated from
 * CONFIG_OPTIONS) with its default and environment variable.
 *
 * The server module is imported dynamically in the serve action, so `--help` / `--version` never
 * load the journal's native module.
 */
import { isIPv6 } from "node:net";
import { Command, Option } from "commander";
import { CONFIG_OPTIONS, ConfigError, loadConfig, type ConfigFlags, type ConfigOption } from "../config/load.js";
import { createLogger, type Logger } from "../observability/logger.js";
import { registerExportCommands } from "./export.js";
import { registerAuditCommand } from "./audit.js";
import { registerOpsCommands } from "./ops.js";
import { logRedactionPaths } from "../observability/command-log.js";
import { registerHashTokenCommand } from "./hash-token.js";
import { SERVER_VERSION as VERSION } from "../server/version.js";
import { errorMessage, MEMORY_DB, prepareWritableJournal } from "./db-path.js";


function formatDefault(o: ConfigOption): string {
  if (o.default === null) return "none";
  if (Array.isArray(o.default)) return o.default.length === 0 ? "none" : o.default.join(",");
  if (o.default !== null && typeof o.default === "object") return Object.keys(o.default).length === 0 ? "none" : JSON.stringify(o.default);
  return String(o.default);
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function configOption(o: ConfigOption): Option[] {
  const help = `${o.description} (default: ${formatDefault(o)}; env ${o.env})`;
  if (o.type === "boolean") {
    // no commander default: an absent flag must fall through to env / file / default
    return [new Option(o.flag, help), new Option(`--no-${o.flag.slice(2)}`, `turn ${o.flag} off (e.g. over ${o.env})`).hideHelp()];
  }
  const opt = new Option(`${o.flag} ${o.arg}`, help);
  if (o.choices) opt.choices([...o.choices]);
  if (o.type === "map") opt.argParser(collect);
  return [opt];
}

function exitAfterFlush(code: number): void {
  const exit = (): never => process.exit(code);
  const out = process.stdout;
  if (out.destroyed || !out.writable || out.writableLength === 0) return void exit();
  // let queued protocol frames reach the reader, but never hang on a stuck pipe
  setTimeout(exit, 2_000).unref();
  out.write("", () => exit());
}

/** The WebSocket URL a server listens on; an IPv6 host in brackets (`ws://[::1]:3141/`). */
function listenUrl(host: string, port: number, path: string): string {
  return `ws://${isIPv6(host) ? `[${host}]` : host}:${port}${path}`;
}

function startupFailure(err: unknown, logger: Logger | null, db?: string): never {
  const message = errorMessage(err, db);
  if (logger && !(err instanceof ConfigError)) logger.debug({ err }, "startup failed");
  process.stderr.write(`causeway: ${message}\n`);
  // BindRefusedError (src/auth/bind.ts) exits 2; every other startup failure 1
  process.exit(err instanceof Error && (err as { exitCode?: unknown }).exitCode === 2 ? 2 : 1);
}

async function serve(opts: Record<string, unknown>): Promise<void> {
  let logger: Logger | null = null;
  let server;
  let db: string | undefined;
  let announce = (): void => {};
  try {
    const { config: configFile, ...flags } = opts;
    const config = loadConfig({ flags: flags as ConfigFlags, env: process.env, configFile: configFile as string | undefined });
    const log = (logger = createLogger(config.logLevel, { redactPaths: logRedactionPaths(config.redact) }));
    db = config.db;
    const { exists } = prepareWritableJournal(config.db);
    const { startServer } = await import("../server/start.js");
    const started = (server = await startServer(config, { logger }));
    announce = () => {
      if (config.db === MEMORY_DB) log.info({ db: config.db, created: true }, "journal in memory: nothing is kept after the server exits");
      else log.info({ db: config.db, created: !exists }, exists ? `opened journal ${config.db}` : `created a new journal at ${config.db}`);
      if (started.wsAddress) log.info(`listening on ${listenUrl(started.wsAddress.host, started.wsAddress.port, config.path)}`);
    };
  } catch (err) {
    startupFailure(err, logger, db);
  }

  const log = logger!;
  const running = server;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, "already shutting down");
      return;
    }
    stopping = true;
    log.info({ signal }, "shutting down");
    running.shutdown(signal).then(
      () => exitAfterFlush(0),
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        exitAfterFlush(1);
      },
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // "listening on" only once a signal shuts down cleanly: a supervisor (or a test) may signal at once
  announce();
  running.closed.then(
    () => {
      log.info("server closed");
      exitAfterFlush(0);
    },
    (err: unknown) => {
      log.error({ err }, "server failed");
      exitAfterFlush(1);
    },
  );
}

function buildProgram(): Command {
  const program = new Command()
    .name("causeway")
    .description("A durable, causal JSON-lines command server (WebSocket + stdio)")
    .version(VERSION, "-v, --version", "print the causeway version")
    .showHelpAfterError();

  const cmd = program
    .command("serve")
    .description("start the server (WebSocket by default, or --stdio)")
    .addOption(new Option("--config <file>", "JSON config file, same keys as CausewayConfig (env CAUSEWAY_CONFIG)"))
    .showHelpAfterError()
    .addHelpText(
      "after",
      "\nPrecedence: flags > CAUSEWAY_* environment > --config file > defaults.\n" +
        "Every option's env var is CAUSEWAY_ + its name in UPPER_SNAKE (e.g. --max-frame-bytes → CAUSEWAY_MAX_FRAME_BYTES).",
    )
    .action(serve);
  for (const o of CONFIG_OPTIONS) for (const opt of configOption(o)) cmd.addOption(opt);
  registerExportCommands(program);
  registerAuditCommand(program);
  registerOpsCommands(program);
  registerHashTokenCommand(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
