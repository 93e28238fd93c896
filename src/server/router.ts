/**
 * The ConnectionHandler both transports call: server_ready on open, frame → decode → engine
 * admission (every command type takes the same path), oversize → payload_too_large, close →
 * forget the connection.
 */
import type { Logger } from "pino";
import type { OperatorServices } from "../operator/operator-command.js";
import type { CommandRegistry } from "../commands/registry.js";
import type { Engine } from "../engine/engine.js";
import { redactRecovery } from "../engine/recovery.js";
import type { Connection, ConnectionHandler } from "../protocol/connection.js";
import { decodeFrame, invalidUtf8, oversize, type Decoded } from "../protocol/decode.js";
import { failure, responseFrame, serialize } from "../protocol/frames.js";
import type { SchemaSet } from "../protocol/schemas.js";
import { PROTOCOL_VERSION } from "../protocol/types.js";

export interface RouterDeps {
  engine: Engine;
  registry: CommandRegistry;
  schemas: SchemaSet;
  services: OperatorServices;
  log: Logger;
}

export function createRouter(deps: RouterDeps): ConnectionHandler {
  const { engine, registry, schemas, services, log } = deps;
  const limits = services.config.limits;
  const reply = (conn: Connection, frame: object): void => {
    conn.send(serialize(frame as never), "response");
  };
  const refuse = (conn: Connection, d: Extract<Decoded, { ok: false }>): void => {
    services.metrics?.frameRefused(d.code);
    reply(conn, responseFrame(d.id, failure(d.command, d.code, d.error)));
  };
  return {
    onOpen(conn) {
      engine.connect(conn);
      const ready = { serverVersion: services.serverVersion, protocolVersion: PROTOCOL_VERSION, transports: services.transports, limits };
      conn.send(serialize({ type: "server_ready", data: ready }), "event");
      // redacted, as pi-server sends it by default; get_startup_recovery answers the full summary
      const recovery = engine.recovery();
      conn.send(serialize({ type: "startup_recovery_summary", data: recovery && redactRecovery(recovery) }), "event");
    },
    onFrame(conn, frame) {
      try {
        const d = decodeFrame(frame, limits, registry, schemas);
        if (!d.ok) return refuse(conn, d);
        engine.submit(conn, d.envelope);
      } catch (err) {
        // A bug must not take the process or the connection down; the client gets a coded failure.
        log.error({ err }, "unexpected error while handling a frame");
        reply(conn, responseFrame(undefined, failure("unknown", "handler_error", "internal error while handling the command")));
      }
    },
    onInvalidUtf8(conn, lossy) {
      const d = invalidUtf8(lossy, limits);
      if (!d.ok) refuse(conn, d);
    },
    onOversize(conn, bytes) {
      const d = oversize(bytes, limits);
      if (!d.ok) refuse(conn, d);
    },
    onClose(conn) {
      engine.disconnect(conn);
    },
  };
}
