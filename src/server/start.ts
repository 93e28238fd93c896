/**
 * The composition root: the one place that wires store, registry, engine, protocol and transports.
 */
import { Policy, PolicyError } from "../governance/policy.js";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Readable, Writable } from "node:stream";
import { pathToFileURL } from "node:url";
import { SERVER_VERSION } from "./version.js";
import type { Logger } from "pino";
import { AuditQueue } from "../operator/audit-queue.js";
import { BUILTIN_COMMANDS } from "../commands/builtin/index.js";
import { defineCommand, type CommandDefinition } from "../commands/define.js";
import { registerImmediateCommands, type ImmediateServices } from "../operator/register.js";
import { CommandRegistry } from "../commands/registry.js";
import type { CausewayConfig } from "../config/defaults.js";
import { Engine } from "../engine/engine.js";
import { SqliteStore } from "../journal/sqlite-store.js";
import { createRedactor } from "../journal/redaction.js";
import { Compactor } from "../journal/compactor.js";
import { retentionPolicy } from "../journal/retention.js";
import { journalProblem } from "../journal/health.js";
import type { Store } from "../journal/types.js";
import { localIdentity } from "../auth/identity.js";
import { prepareWebSocketAuth } from "../auth/setup.js";
import { createDispatcher } from "./router.js";
import { SchemaSet } from "../protocol/schemas.js";
import { createStdioTransport } from "../transport/stdio.js";
import { createWebSocketTransport } from "../transport/websocket.js";
import { parseAllowedOrigins } from "../transport/origin.js";
import { createHttpRoutes } from "../transport/http-routes.js";
import { engineSources, Metrics } from "../observability/metrics.js";
import { combineObservers, commandLogObserver, observeConnections } from "../observability/command-log.js";

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

export { SERVER_VERSION };

/** A command module that could not be loaded: the message names the module and the cause. */
export class CommandModuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandModuleError";
  }
}

async function importCommandModule(p: string): Promise<Record<string, unknown>> {
  const file = resolve(p);
  if (!existsSync(file)) throw new CommandModuleError(`command module ${p} does not exist (resolved to ${file}): check --commands`);
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const kind = err instanceof Error && err.name !== "Error" ? `${err.name}: ` : "";
    // Node reports no line for an ES module's syntax error; `node --check` does
    const hint = err instanceof SyntaxError ? ` (\`node --check ${p}\` shows the line of a syntax error)` : "";
    throw new CommandModuleError(`command module ${p} failed to load: ${kind}${message}${hint}`);
  }
}

/** Load user command modules: a default export (one definition or an array) and/or named exports. */
export async function loadCommandModules(paths: string[], registry: CommandRegistry): Promise<void> {
  for (const p of paths) {
    const mod = await importCommandModule(p);
    const found = new Set<CommandDefinition>();
    for (const value of Object.values(mod)) {
      for (const v of Array.isArray(value) ? value : [value]) if (isDefinition(v)) found.add(Object.isFrozen(v) ? v : defineCommand(v));
    }
    if (found.size === 0) throw new Error(`command module ${p} exports no command definitions (use defineCommand)`);
    for (const def of found) registry.register(def);
  }
}

/**
 * The policy file, parsed (Policy.load) and checked against the registered command types: a
 * `roles` key or a rule's `match.type` naming a type no module registers refuses the start, naming
 * the file, the JSON path and the type.
 */
export function loadPolicy(file: string | null, registry: CommandRegistry): Policy {
  if (!file) return Policy.open();
  const policy = Policy.load(file);
  const known = registry.types();
  const unknown = policy.unknownTypes(new Set(known));
  if (unknown.length === 0) return policy;
  const problems = unknown.map((u) => {
    const near = closestName(u.type, known);
    return `${u.path}: unknown command type "${u.type}"${near ? ` (did you mean "${near}"?)` : ""}`;
  });
  throw new PolicyError(`policy file ${file}: ${problems.join("; ")}; a policy names only registered command types (built-in, operator, or from --commands)`);
}

/** The candidate within two edits of `name` (Levenshtein), the closest first; undefined if none. */
function closestName(name: string, candidates: readonly string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d <= 2 && (best === undefined || d < best.d)) best = { name: c, d };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

function isDefinition(v: unknown): v is CommandDefinition {
  return typeof v === "object" && v !== null && typeof (v as CommandDefinition).type === "string" && typeof (v as CommandDefinition).run === "function" && "scope" in v;
}

export async function startServer(config: CausewayConfig, deps: ServerDeps): Promise<RunningServer> {
  const log = deps.logger;
  // identities (issue 5): the bind rule and the tokens file, checked before anything is opened
  const wsAuth = config.stdio ? undefined : prepareWebSocketAuth(config, log);
  const allowedOrigins = config.stdio ? [] : parseAllowedOrigins(config.allowOrigin);
  const registry = new CommandRegistry();
  for (const def of BUILTIN_COMMANDS) registry.register(def);
  let services: ImmediateServices | undefined;
  registerImmediateCommands(registry, () => {
    if (!services) throw new Error("operator command ran before the server was wired");
    return services;
  });
  await loadCommandModules(config.commands, registry);
  // every command type is registered now: a policy naming another one is refused (a typo gates nothing)
  const policy = loadPolicy(config.policyFile, registry);
  const schemas = new SchemaSet(registry, config.limits, { strict: config.strict });

  const store =
    deps.store ??
    new SqliteStore({ path: config.db, durability: config.durability, faultFailCommit: config.faultFailCommit, faultFailCount: config.faultFailCount, faultKind: config.faultKind, takeOverLease: config.takeOverLease, log });
  const metrics = new Metrics();
  const observer = combineObservers(metrics, commandLogObserver(log));
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
  metrics.bind(engineSources(engine, pendingCount, store));
  const audits = new AuditQueue();
  const compactor = new Compactor(store, retentionPolicy(config), log);
  services = { engine, store, config, serverVersion: SERVER_VERSION, transports, metrics, pending: pendingCount, audits, compactor };
  // in-flight commands and online audits are answered before the server closes (within the grace)
  const drain = async (): Promise<boolean> => (await Promise.all([engine.drain(config.shutdownGraceMs), audits.idle(config.shutdownGraceMs)]))[0];

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
      const drained = await drain();
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
        // stdin EOF: no new commands can arrive; finish and answer every admitted command, then
        // exit. Pending ones (approval, schedule) stay durable and resume on restart.
        if (stopping) return;
        stopping = (async () => {
          engine.beginShutdown();
          const drained = await drain();
          if (!drained) {
            log.warn({ inFlight: engine.jobs.size - engine.governor.pendingCount() }, "stdin closed and the shutdown grace period elapsed; unanswered commands will be recovered on restart");
            engine.abandon();
          }
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
      maxOutboundBytesTotal: config.limits.maxOutboundBytesTotal,
      maxConnections: config.limits.maxConnections,
      allowedOrigins,
      handler,
      logger: log,
      auth: wsAuth,
      httpRoutes: createHttpRoutes({
        metrics: () => metrics.exposition(),
        readiness: () => {
          const checks = {
            journalOpen: !storeClosed,
            recoveryDone: engine.recovery !== null,
            journalHealthy: journalProblem(engine.committer.stats, store) === null,
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
