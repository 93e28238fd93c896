/**
 * An in-process server (engine + dispatcher + a real SqliteStore) with fake connections, for tests
 * that need to look inside: fault injection, journal contents, recovery.
 */
import pino from "pino";
import { AuditQueue } from "../../src/operator/audit-queue.js";
import { BUILTIN_COMMANDS } from "../../src/commands/builtin/index.js";
import type { CommandDefinition } from "../../src/commands/define.js";
import { registerOperatorCommands } from "../../src/operator/register.js";
import { type OperatorServices } from "../../src/operator/operator-command.js";
import { CommandRegistry } from "../../src/commands/registry.js";
import { DEFAULT_CONFIG, type CausewayConfig } from "../../src/config/defaults.js";
import { Engine } from "../../src/engine/engine.js";
import { SqliteStore } from "../../src/journal/sqlite-store.js";
import { createRedactor } from "../../src/journal/redaction.js";
import { createRouter } from "../../src/server/router.js";
import { readinessOf } from "../../src/server/readiness.js";
import { SchemaSet } from "../../src/protocol/schemas.js";
import type { Connection, ConnectionHandler } from "../../src/protocol/connection.js";

type Frame = Record<string, any>;

export class FakeConnection implements Connection {
  static next = 0;
  readonly id = `fake-${++FakeConnection.next}`;
  readonly transport = "websocket" as const;
  readonly actor = "local";
  readonly roles: string[] = [];
  closed = false;
  readonly frames: Frame[] = [];
  private waiters: Array<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];
  private counter = 0;
  constructor(private readonly handler: ConnectionHandler) {
    handler.onOpen(this);
  }
  send(frame: string): boolean {
    if (this.closed) return false;
    const f = JSON.parse(frame) as Frame;
    this.frames.push(f);
    this.waiters = this.waiters.filter((w) => (w.match(f) ? (w.resolve(f), false) : true));
    return true;
  }
  bufferedBytes(): number {
    return 0;
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handler.onClose(this);
  }
  raw(obj: object | string): void {
    this.handler.onFrame(this, typeof obj === "string" ? obj : JSON.stringify(obj));
  }
  waitFor(match: (f: Frame) => boolean, fromIndex = 0): Promise<Frame> {
    const hit = this.frames.slice(fromIndex).find(match);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }
  request(cmd: Frame): Promise<Frame> {
    const id = (cmd.id as string | undefined) ?? `r${++this.counter}`;
    const p = this.waitFor((f) => f.type === "response" && f.id === id, this.frames.length);
    this.raw({ ...cmd, id });
    return p;
  }
  lifecycle(commandId: string): string[] {
    return this.frames.filter((f) => f.type.startsWith("command_") && f.data?.commandId === commandId).map((f) => f.type as string);
  }
}

export interface InProc {
  engine: Engine;
  store: SqliteStore;
  config: CausewayConfig;
  connect(): FakeConnection;
  stop(): Promise<void>;
}

export function startInProc(opts: { config?: Partial<CausewayConfig>; store?: SqliteStore; commands?: CommandDefinition[] } = {}): InProc {
  const config: CausewayConfig = { ...DEFAULT_CONFIG, db: ":memory:", ...opts.config, limits: { ...DEFAULT_CONFIG.limits, ...opts.config?.limits } };
  const registry = new CommandRegistry();
  for (const d of BUILTIN_COMMANDS) registry.register(d);
  for (const d of opts.commands ?? []) registry.register(d);
  let services: OperatorServices | undefined;
  registerOperatorCommands(registry, () => services!);
  const store =
    opts.store ??
    new SqliteStore({ path: config.db, durability: config.durability, faultFailCommit: config.faultFailCommit, faultFailCount: config.faultFailCount });
  const log = pino({ level: "silent" });
  const engine = new Engine({ config, store, registry, log, redact: createRedactor(config.redact) });
  engine.start();
  services = { engine, store, config, serverVersion: "test", transports: ["websocket"], audits: new AuditQueue(), readiness: readinessOf(engine, store, () => true) };
  const handler = createRouter({ engine, registry, schemas: new SchemaSet(registry, config.limits), services, log });
  return {
    engine,
    store,
    config,
    connect: () => new FakeConnection(handler),
    async stop() {
      engine.beginShutdown();
      await engine.drain(5_000);
      engine.abandon();
      store.close();
    },
  };
}
