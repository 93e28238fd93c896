/**
 * The composition root: the one place that wires store, registry, engine, router and transports,
 * and the one shutdown sequence (signal, stdin EOF) that takes them down again.
 */
import type { Readable, Writable } from "node:stream";
import type { Logger } from "pino";
import { BUILTIN_COMMANDS } from "../commands/builtin/index.js";
import { CommandRegistry } from "../commands/registry.js";
import type { CausewayConfig } from "../config/defaults.js";
import { Engine } from "../engine/engine.js";
import { localIdentity } from "../auth/identity.js";
import { prepareWebSocketAuth } from "../auth/setup.js";
import { Policy } from "../governance/policy.js";
import { Compactor } from "../journal/compactor.js";
import { createRedactor } from "../journal/redaction.js";
import { retentionPolicy } from "../journal/retention.js";
import type { Store } from "../journal/types.js";
import { combineObservers, commandLogObserver, observeConnections } from "../observability/command-log.js";
import { Metrics } from "../observability/metrics.js";
import { AuditQueue } from "../operator/audit-queue.js";
import type { OperatorServices } from "../operator/operator-command.js";
import { registerOperatorCommands } from "../operator/register.js";
import type { ConnectionHandler } from "../protocol/connection.js";
import { SchemaSet } from "../protocol/schemas.js";
import { createHttpRoutes } from "../transport/http-routes.js";
import { parseAllowedOrigins } from "../transport/origin.js";
import { createStdioTransport } from "../transport/stdio.js";
import { createWebSocketTransport } from "../transport/websocket.js";
import { loadCommandModules, loadPolicy } from "./command-modules.js";
import { engineSources } from "./metrics-sources.js";
import { readinessOf, type Readiness } from "./readiness.js";
import { createRouter } from "./router.js";
import { createStore } from "./store.js";
import { SERVER_VERSION } from "./version.js";

export { SERVER_VERSION };
export { CommandModuleError, loadCommandModules, loadPolicy } from "./command-modules.js";

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

/** Every command type (built-in, operator, --commands modules), the policy over them, their schemas. */
async function loadCommands(config: CausewayConfig, services: () => OperatorServices): Promise<{ registry: CommandRegistry; policy: Policy; schemas: SchemaSet }> {
  const registry = new CommandRegistry();
  for (const def of BUILTIN_COMMANDS) registry.register(def);
  registerOperatorCommands(registry, services);
  await loadCommandModules(config.commands, registry);
  // every command type is registered now: a policy naming another one is refused (a typo gates nothing)
  const policy = loadPolicy(config.policyFile, registry);
  return { registry, policy, schemas: new SchemaSet(registry, config.limits, { strict: config.strict }) };
}

/** Start the engine on the store (startup recovery); the store is closed again if that fails. */
function startEngine(config: CausewayConfig, store: Store, registry: CommandRegistry, policy: Policy, metrics: Metrics, log: Logger): Engine {
  const observer = combineObservers(metrics, commandLogObserver(log));
  if (config.policyFile) log.info({ policyFile: config.policyFile, policyVersion: policy.version, rules: policy.file.rules?.length ?? 0 }, "governance policy loaded");
  const engine = new Engine({ config, store, registry, log, redact: createRedactor(config.redact), observer, policy, authenticated: config.tokensFile !== null && !config.stdio });
  try {
    const summary = engine.start();
    if (summary.unfinished > 0) log.info({ recovery: summary }, "startup recovery journaled a verdict for every unfinished command");
  } catch (err) {
    store.close();
    throw err;
  }
  return engine;
}

export async function startServer(config: CausewayConfig, deps: ServerDeps): Promise<RunningServer> {
  const log = deps.logger;
  // identities: the bind rule and the tokens file, checked before anything is opened
  const wsAuth = config.stdio ? undefined : prepareWebSocketAuth(config, log);
  const allowedOrigins = config.stdio ? [] : parseAllowedOrigins(config.allowOrigin);
  let services: OperatorServices | undefined;
  const { registry, policy, schemas } = await loadCommands(config, () => {
    if (!services) throw new Error("operator command ran before the server was wired");
    return services;
  });
  const { store, warnings } = deps.store ? { store: deps.store, warnings: [] } : await createStore(config, log);
  const metrics = new Metrics();
  const engine = startEngine(config, store, registry, policy, metrics, log);
  let storeOpen = true;
  const readiness = readinessOf(engine, store, () => storeOpen, warnings);
  const pendingCount = deps.pendingCount ?? ((): number => engine.stats().pending);
  metrics.bind(engineSources(engine, pendingCount, readiness));
  const audits = new AuditQueue();
  const compactor = new Compactor(store, retentionPolicy(config), log);
  const transports = config.stdio ? ["stdio"] : ["websocket"];
  services = { engine, store, config, serverVersion: SERVER_VERSION, transports, metrics, pending: pendingCount, audits, compactor, readiness };
  const handler = observeConnections(createRouter({ engine, registry, schemas, services, log }), log, metrics);

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let closeTransport: () => Promise<void> | void = () => {};
  let stopping: Promise<void> | null = null;
  compactor.start();

  /**
   * The one shutdown sequence. `reason` (a signal, `shutdown()`): clients are told first; stdin
   * EOF (null): no new commands can arrive. Either way every admitted command is finished and
   * answered within the grace (online audits too); pending ones (approval, schedule) stay durable
   * and resume on restart; what is still unfinished after the grace is recovered on restart.
   */
  const stop = (reason: string | null): Promise<void> => {
    stopping ??= (async () => {
      engine.beginShutdown();
      if (reason !== null) engine.broadcastShutdown(reason, config.shutdownGraceMs);
      const [drained] = await Promise.all([engine.drain(config.shutdownGraceMs), audits.idle(config.shutdownGraceMs)]);
      if (!drained) {
        const why = reason === null ? "stdin closed and the shutdown grace period elapsed" : "shutdown grace period elapsed";
        const st = engine.stats();
        log.warn({ inFlight: st.inFlight - st.pending }, `${why}; unfinished commands will be recovered on restart`);
        engine.abandon();
      }
      await compactor.stop();
      await closeTransport();
      store.close();
      storeOpen = false;
      resolveClosed();
    })();
    return stopping;
  };

  const opened = await openTransport(config, { handler, log, wsAuth, allowedOrigins, deps, metrics, readiness, onStdinEnd: () => void stop(null) });
  closeTransport = opened.close;
  return { wsAddress: opened.address, engine, metrics, shutdown: (reason) => stop(reason), closed };
}

interface TransportWiring {
  handler: ConnectionHandler;
  log: Logger;
  wsAuth: ReturnType<typeof prepareWebSocketAuth> | undefined;
  allowedOrigins: ReturnType<typeof parseAllowedOrigins>;
  deps: ServerDeps;
  metrics: Metrics;
  readiness: () => Readiness;
  onStdinEnd: () => void;
}

/** stdio (one local connection) or the WebSocket listener with its HTTP routes. */
async function openTransport(config: CausewayConfig, w: TransportWiring): Promise<{ address: RunningServer["wsAddress"]; close: () => Promise<void> | void }> {
  if (config.stdio) {
    const t = createStdioTransport({
      input: w.deps.stdin ?? process.stdin,
      output: w.deps.stdout ?? process.stdout,
      maxLineBytes: config.limits.maxFrameBytes,
      maxOutboundBytes: config.limits.maxOutboundBytes,
      handler: w.handler,
      logger: w.log,
      identity: localIdentity(config),
      onEnd: w.onStdinEnd,
    });
    return { address: null, close: () => t.close() };
  }
  const t = await createWebSocketTransport({
    host: config.host,
    port: config.port,
    path: config.path,
    maxPayload: config.wsMaxPayloadBytes,
    maxFrameBytes: config.limits.maxFrameBytes,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    maxOutboundBytes: config.limits.maxOutboundBytes,
    maxOutboundBytesTotal: config.limits.maxOutboundBytesTotal,
    maxConnections: config.limits.maxConnections,
    allowedOrigins: w.allowedOrigins,
    handler: w.handler,
    logger: w.log,
    auth: w.wsAuth,
    httpRoutes: createHttpRoutes({
      metrics: () => w.metrics.exposition(),
      readiness: () => {
        const r = w.readiness();
        return { ready: r.ready, checks: { ...r.checks }, warnings: [...r.warnings] };
      },
    }),
  });
  return { address: t.address, close: () => t.close() };
}
