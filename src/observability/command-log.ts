/**
 * What causeway logs about commands and connections (pino JSON on stderr):
 * - one `info` line when a connection opens and one when it closes, with its id (`conn`), transport
 *   and actor;
 * - one `debug` line per finished command: `commandId`, `type`, `lane`, `status`, `code`,
 *   `durationMs`, `queueWaitMs`. Never params, results, state or error texts: those can hold
 *   secrets (see `redact`), so a finish line carries identifiers and figures only.
 * On top of that, `logRedactionPaths` turns the configured redaction rules into pino `redact`
 * paths, so a value under a redacted property name is censored in any log line, including a
 * handler's own `ctx.log` lines.
 */
import type { EngineObserver, FinishedFact } from "./observer.js";
import { parseRedactRule, type RedactRules } from "../config/redaction-rules.js";
import type { Connection, ConnectionHandler } from "../protocol/connection.js";
import type { Logger } from "./logger.js";

/** Fans every fact out to several observers (metrics, logs). */
export function combineObservers(...observers: EngineObserver[]): EngineObserver {
  return {
    accepted: (type, lane) => observers.forEach((o) => o.accepted(type, lane)),
    started: (type, lane, ms) => observers.forEach((o) => o.started(type, lane, ms)),
    finished: (fact) => observers.forEach((o) => o.finished(fact)),
    duplicate: (kind, type) => observers.forEach((o) => o.duplicate(kind, type)),
    commit: (rows, ms, ok) => observers.forEach((o) => o.commit(rows, ms, ok)),
  };
}

/** The fields of the per-command finish line: identifiers and figures, nothing a client sent. */
export function finishLogFields(fact: FinishedFact): Record<string, unknown> {
  return {
    commandId: fact.commandId ?? null,
    type: fact.type,
    lane: fact.lane,
    status: fact.status,
    code: fact.code,
    durationMs: fact.finishedAt - fact.acceptedAt,
    queueWaitMs: fact.startedAt === null ? null : fact.startedAt - fact.acceptedAt,
  };
}

/** An observer that writes one debug line per finished command. */
export function commandLogObserver(log: Logger): EngineObserver {
  return {
    accepted() {},
    started() {},
    duplicate() {},
    commit() {},
    finished(fact) {
      if (log.isLevelEnabled("debug")) log.debug(finishLogFields(fact), "command finished");
    },
  };
}

export interface ConnectionObserver {
  connectionOpened(transport: string): void;
  connectionClosed(transport: string): void;
}

/** Wraps a ConnectionHandler: an info line per connection open / close, and connection counts. */
export function observeConnections(handler: ConnectionHandler, log: Logger, counts?: ConnectionObserver): ConnectionHandler {
  const opened = new WeakMap<Connection, { at: number; frames: number }>();
  return {
    onOpen(conn) {
      opened.set(conn, { at: Date.now(), frames: 0 });
      counts?.connectionOpened(conn.transport);
      log.info({ conn: conn.id, transport: conn.transport, actor: conn.actor }, "connection opened");
      handler.onOpen(conn);
    },
    onFrame(conn, frame) {
      const o = opened.get(conn);
      if (o) o.frames++;
      handler.onFrame(conn, frame);
    },
    onInvalidUtf8(conn, lossy) {
      const o = opened.get(conn);
      if (o) o.frames++;
      handler.onInvalidUtf8(conn, lossy);
    },
    onOversize(conn, bytes) {
      handler.onOversize(conn, bytes);
    },
    onClose(conn) {
      const o = opened.get(conn);
      opened.delete(conn);
      if (o) counts?.connectionClosed(conn.transport);
      log.info({ conn: conn.id, transport: conn.transport, actor: conn.actor, durationMs: o ? Date.now() - o.at : null, frames: o?.frames ?? null }, "connection closed");
      handler.onClose(conn);
    },
  };
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * pino `redact` paths for the configured redaction rules: every bare property name, and the last
 * segment of every params / outcome pointer, at the top level and up to three levels deep.
 */
export function logRedactionPaths(rules: RedactRules): string[] {
  const names = new Set<string>();
  for (const list of Object.values(rules)) {
    for (const rule of list) {
      const parsed = parseRedactRule(rule);
      if (parsed.kind === "key") names.add(parsed.key);
      else {
        const last = parsed.pointer[parsed.pointer.length - 1];
        if (last !== undefined && last !== "" && last !== "data" && last !== "error" && !/^\d+$/.test(last)) names.add(last);
      }
    }
  }
  const paths: string[] = [];
  for (const n of names) {
    const seg = IDENT.test(n) ? n : `[${JSON.stringify(n)}]`;
    const dot = IDENT.test(n) ? "." : "";
    paths.push(seg, `*${dot}${seg}`, `*.*${dot}${seg}`, `*.*.*${dot}${seg}`);
  }
  return paths;
}
