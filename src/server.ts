/**
 * The composition root: the one place that wires store, registry, engine, protocol and transports.
 */
import { Policy } from "./governance/policy.js";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Readable, Writable } from "node:stream";
import { pathToFileURL } from "node:url";
import type { Logger } from "pino";
import { BUILTIN_COMMANDS } from "./commands/builtin/index.js";
import { defineCommand, type CommandDefinition } from "./commands/define.js";
import { registerImmediateCommands, type ImmediateServices } from "./commands/immediate.js";
import { CommandRegistry } from "./commands/registry.js";
import type { CausewayConfig } from "./config/defaults.js";
import { Engine } from "./engine/engine.js";
import { SqliteStore } from "./journal/sqlite-store.js";
import { createRedactor } from "./journal/redaction.js";
import { Compactor } from "./journal/compactor.js";
import { retentionPolicy } from "./journal/retention.js";
import type { Store } from "./journal/types.js";
import { localIdentity } from "./governance/identity.js";
import { prepareWebSocketAuth } from "./governance/setup.js";
import { createDispatcher } from "./protocol/dispatch.js";
import { SchemaSet } from "./protocol/schemas.js";
import { createStdioTransport } from "./transport/stdio.js";
import { createWebSocketTransport } from "./transport/websocket.js";
import { createHttpRoutes } from "./transport/http-routes.js";
import { engineSources, Metrics } from "./observability/metrics.js";
import { combineObservers, commandLogObserver, observeConnections } from "./observability/logging.js";

export interface RunningServer {
  wsAddress: { host: string; port: number } | null;
  engine: Engine;
  metrics: Metrics;
  shutdown(reason: string): Promise<void>;
  closed: Promise<void>;
}

export interface ServerDeps {
  logger: Logger;
  stdin?: Readable;
  stdout?: Writable;
  /** tests: use this store instead of opening config.db */
  store?: Store;
  /** commands awaiting approval (governance); feeds the `pending` gauge, health_check, get_lanes (default: 0) */
  pendingCount?: () => number;
}

export const SERVER_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: string };
    return pkg.version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
})();

/** Load user command modules: a default export (one definition or an array) and/or named exports. */
export async function loadCommandModules(paths: string[], registry: CommandRegistry): Promise<void> {
  for (const p of paths) {
    const mod = (await import(pathToFileURL(resolve(p)).href)) as Record<string, unknown>;
    const found = new Set<CommandDefinition>();
    for (const value of Object.values(mod)) {
      for (const v of Array.isArray(value) ? value : [value]) if (isDefinition(v)) found.add(Object.isFrozen(v) ? v : defineCommand(v));
    }
    if (found.size === 0) throw new Error(`command module ${p} exports no command definitions (use defineCommand)`);
    for (const def of found) registry.register(def);
  }
}

function isDefinition(v: unknown): v is CommandDefinition {
  return typeof v === "object" && v !== null && typeof (v as CommandDefinition).type === "string" && typeof (v as CommandDefinition).run === "function" && "scope" in v;
}

export async function startServer(config: CausewayConfig, deps: ServerDeps): Promise<RunningServer> {
  const log = deps.logger;
  // identities (issue 5): the bind rule and the tokens file, checked before anything is opened
  const wsAuth = config.stdio ? undefined : prepareWebSocketAuth(config, log);
  const registry = new CommandRegistry();
  for (const def of BUILTIN_COMMANDS) registry.register(def);
  let services: ImmediateServices | undefined;
  registerImmediateCommands(registry, () => {
    if (!services) throw new Error("operator command ran before the server was wired");
    return services;
  });
  await loadCommandModules(config.commands, registry);
  const schemas = new SchemaSet(registry, config.limits, { strict: config.strict });

  const store =
    deps.store ??
    new SqliteStore({ path: config.db, durability: config.durability, faultFailCommit: config.faultFailCommit, faultFailCount: config.faultFailCount, faultKind: config.faultKind });
  const metrics = new Metrics();
  const observer = combineObservers(metrics, commandLogObserver(log));
  const policy = config.policyFile ? Policy.load(config.policyFile) : Policy.open();
  if (config.policyFile) log.info({ policyFile: config.policyFile, policyVersion: policy.version, rules: policy.file.rules?.length ?? 0 }, "governance policy loaded");
  const engine = new Engine({ config, store, registry, log, redact: createRedactor(config.redact), observer, policy, authenticated: config.tokensFile !== null && !config.stdio });
  let summary;
  try {
    summary = engine.start();
  } catch (err) {
    store.close();
    throw err;
  }
  if (summary.unfinished > 0) log.info({ recovery: summary }, "startup recovery journaled a verdict for every unfinished command");

  const transports = config.stdio ? ["stdio"] : ["websocket"];
  const pendingCount = deps.pendingCount ?? ((): number => engine.governor.pendingCount());
  metrics.bind(engineSources(engine, pendingCount));
  const compactor = new Compactor(store, retentionPolicy(config), log);
  services = { engine, store, config, serverVersion: SERVER_VERSION, transports, metrics, pending: pendingCount, compactor };

  const handler = observeConnections(createDispatcher({ engine, registry, schemas, services, log }), log, metrics);

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let closeTransport: () => Promise<void> | void = () => {};
  let wsAddress: RunningServer["wsAddress"] = null;
  let stopping: Promise<void> | null = null;
  let storeClosed = false;

  compactor.start();

  const finalize = async (): Promise<void> => {
    await compactor.stop();
    await closeTransport();
    store.close();
    storeClosed = true;
    resolveClosed();
  };

  const shutdown = (reason: string): Promise<void> => {
    if (stopping) return stopping;
    stopping = (async () => {
      engine.beginShutdown();
      engine.publisher.broadcast({ type: "server_shutdown", data: { reason, timeoutMs: config.shutdownGraceMs } });
      const drained = await engine.drain(config.shutdownGraceMs);
      if (!drained) {
        log.warn({ inFlight: engine.jobs.size }, "shutdown grace period elapsed; unfinished commands will be recovered on restart");
        engine.abandon();
      }
      await finalize();
    })();
    return stopping;
  };

  if (config.stdio) {
    const t = createStdioTransport({
      input: deps.stdin ?? process.stdin,
      output: deps.stdout ?? process.stdout,
      maxLineBytes: config.limits.maxFrameBytes,
      maxOutboundBytes: config.limits.maxOutboundBytes,
      handler,
      logger: log,
      identity: localIdentity(config),
      onEnd: () => {
        // stdin EOF: no new commands can arrive; finish what is in flight, then exit.
        if (stopping) return;
        stopping = (async () => {
          engine.beginShutdown();
          const drained = await engine.drain(config.shutdownGraceMs);
          if (!drained) engine.abandon();
          await finalize();
        })();
      },
    });
    closeTransport = () => t.close();
  } else {
    const t = await createWebSocketTransport({
      host: config.host,
      port: config.port,
      path: config.path,
      maxPayload: config.wsMaxPayloadBytes,
      maxFrameBytes: config.limits.maxFrameBytes,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      maxOutboundBytes: config.limits.maxOutboundBytes,
      handler,
      logger: log,
      auth: wsAuth,
      httpRoutes: createHttpRoutes({
        metrics: () => metrics.exposition(),
        readiness: () => {
          const checks = {
            journalOpen: !storeClosed,
            recoveryDone: engine.recovery !== null,
            journalHealthy: !engine.committer.stats.degraded,
            acceptingCommands: !engine.isShuttingDown(),
          };
          return { ready: Object.values(checks).every(Boolean), checks };
        },
      }),
    });
    wsAddress = t.address;
    closeTransport = () => t.close();
  }

  return { wsAddress, engine, metrics, shutdown, closed };
}
