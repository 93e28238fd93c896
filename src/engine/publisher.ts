/**
 * Who receives what. Only called with committed facts (the engine publishes from commit callbacks).
 * - a response goes to the connection that sent the command;
 * - a lifecycle event goes to the submitting connection, to connections subscribed to the
 *   command's session (`switch_session` / `subscribe {sessionId}`), and to `subscribe {scope:"all"}`;
 * - a session event (`ctx.emit`) goes to the session's subscribers and to "all" subscribers;
 * - server notices (session_created, server_shutdown, ...) go to every connection.
 */
import { serialize } from "../protocol/frames.js";
import type { Connection } from "../transport/connection.js";

/** Which events a subscription covers: every event, or the events of one session. */
export interface SubscriptionFilter {
  all: boolean;
  sessionId?: string;
}

export class Publisher {
  /** connections catching up from the journal: matching live events are held back (they replay) */
  private readonly suppressed = new Map<Connection, SubscriptionFilter>();
  private readonly connections = new Set<Connection>();
  private readonly all = new Set<Connection>();
  private readonly bySession = new Map<string, Set<Connection>>();
  private readonly sessionsOf = new Map<Connection, Set<string>>();

  add(conn: Connection): void {
    this.connections.add(conn);
  }

  remove(conn: Connection): void {
    this.connections.delete(conn);
    this.suppressed.delete(conn);
    this.all.delete(conn);
    for (const sid of this.sessionsOf.get(conn) ?? []) this.unsubscribeSession(conn, sid);
    this.sessionsOf.delete(conn);
  }

  count(): number {
    return this.connections.size;
  }

  subscribeAll(conn: Connection): void {
    this.all.add(conn);
  }

  canSubscribeSession(conn: Connection, sessionId: string, maxPerConnection: number): boolean {
    const mine = this.sessionsOf.get(conn);
    return !mine || mine.has(sessionId) || mine.size < maxPerConnection;
  }

  subscribeSession(conn: Connection, sessionId: string, maxPerConnection: number): boolean {
    let mine = this.sessionsOf.get(conn);
    if (!mine) this.sessionsOf.set(conn, (mine = new Set()));
    if (!mine.has(sessionId) && mine.size >= maxPerConnection) return false;
    mine.add(sessionId);
    let set = this.bySession.get(sessionId);
    if (!set) this.bySession.set(sessionId, (set = new Set()));
    set.add(conn);
    return true;
  }

  unsubscribe(conn: Connection, sessionId?: string): void {
    if (sessionId === undefined) {
      this.all.delete(conn);
      for (const sid of this.sessionsOf.get(conn) ?? []) this.unsubscribeSession(conn, sid);
      this.sessionsOf.delete(conn);
      return;
    }
    this.unsubscribeSession(conn, sessionId);
    this.sessionsOf.get(conn)?.delete(sessionId);
  }

  subscriptions(conn: Connection): { all: boolean; sessions: string[] } {
    return { all: this.all.has(conn), sessions: [...(this.sessionsOf.get(conn) ?? [])] };
  }

  suppress(conn: Connection, filter: SubscriptionFilter): void {
    this.suppressed.set(conn, filter);
  }

  unsuppress(conn: Connection): void {
    this.suppressed.delete(conn);
  }

  respond(conn: Connection | null, frame: object): void {
    if (conn && !conn.closed) conn.send(serialize(frame as never), "response");
  }

  /** A lifecycle or session event; `extra` are connections that get it regardless of subscriptions. */
  event(sessionId: string | null, frame: object, extra: Array<Connection | null> = []): void {
    const text = serialize(frame as never);
    const sent = new Set<Connection>();
    const deliver = (c: Connection | null | undefined): void => {
      if (!c || c.closed || sent.has(c)) return;
      sent.add(c);
      const held = this.suppressed.get(c);
      if (held && (held.all || (sessionId !== null && held.sessionId === sessionId))) return;
      c.send(text, "event");
    };
    for (const c of extra) deliver(c);
    if (sessionId !== null) for (const c of this.bySession.get(sessionId) ?? []) deliver(c);
    for (const c of this.all) deliver(c);
  }

  broadcast(frame: object): void {
    const text = serialize(frame as never);
    for (const c of this.connections) if (!c.closed) c.send(text, "event");
  }

  private unsubscribeSession(conn: Connection, sessionId: string): void {
    const set = this.bySession.get(sessionId);
    if (!set) return;
    set.delete(conn);
    if (set.size === 0) this.bySession.delete(sessionId);
  }
}
