/**
 * Who receives what. Only called with committed facts (the engine publishes from commit callbacks).
 * - a response goes to the connection that sent the command;
 * - a command fact (lifecycle, governance, replay, conflict, requeue event) goes to its submitter,
 *   to explicit subscribers (`switch_session`, `subscribe {sessionId}`, `subscribe {scope:"all"}`),
 *   and to every connection whose lifecycle scope covers it: `all` (the default, as pi-server
 *   broadcasts lifecycle events), `own` (the connection's own commands) or `none`. With
 *   authentication, a connection only ever receives facts it may see (`visible`): its actor's own
 *   commands, and commands of sessions its actor may read;
 * - a session event (`ctx.emit`) goes to the session's subscribers and to "all" subscribers;
 * - server notices (session_created, server_shutdown, ...) go to every connection.
 * Every frame is serialized once, whatever the number of recipients.
 */
import { serialize } from "../protocol/frames.js";
import type { Connection } from "../protocol/connection.js";

/** Which events a subscription covers: every event, or the events of one session. */
export interface SubscriptionFilter {
  all: boolean;
  sessionId?: string;
}

/** Which command facts a connection receives besides its explicit subscriptions. */
export type LifecycleScope = "all" | "own" | "none";

export const LIFECYCLE_SCOPES: readonly LifecycleScope[] = ["all", "own", "none"];

/** Who looks: a connection's (or a command's) actor and roles. */
export interface Viewer {
  readonly actor: string;
  readonly roles: readonly string[];
}

/** May `viewer` see a fact about a command of `actor` in `sessionId` (null: the server lane)? */
export type Visibility = (viewer: Viewer, sessionId: string | null, actor: string) => boolean;

export class Publisher {
  /** connections catching up from the journal: matching live events are held back (they replay) */
  private readonly suppressed = new Map<Connection, SubscriptionFilter>();
  private readonly connections = new Set<Connection>();
  private readonly all = new Set<Connection>();
  private readonly bySession = new Map<string, Set<Connection>>();
  private readonly sessionsOf = new Map<Connection, Set<string>>();
  /** connections whose lifecycle scope is not the default `all` */
  private readonly scopes = new Map<Connection, LifecycleScope>();

  /** `visible`: null when every client is the same local actor (no authentication) */
  constructor(private readonly visible: Visibility | null = null) {}

  add(conn: Connection): void {
    this.connections.add(conn);
  }

  remove(conn: Connection): void {
    this.connections.delete(conn);
    this.scopes.delete(conn);
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

  subscriptions(conn: Connection): { all: boolean; sessions: string[]; lifecycle: LifecycleScope } {
    return { all: this.all.has(conn), sessions: [...(this.sessionsOf.get(conn) ?? [])], lifecycle: this.lifecycleOf(conn) };
  }

  setLifecycle(conn: Connection, scope: LifecycleScope): void {
    if (scope === "all") this.scopes.delete(conn);
    else this.scopes.set(conn, scope);
  }

  lifecycleOf(conn: Connection): LifecycleScope {
    return this.scopes.get(conn) ?? "all";
  }

  /** May `viewer` see a fact about a command of `actor` in `sessionId` (read visibility; always without authentication)? */
  visibleTo(viewer: Viewer, sessionId: string | null, actor: string): boolean {
    return this.visible === null || this.visible(viewer, sessionId, actor);
  }

  /** A session is gone: no connection stays subscribed to it. */
  dropSession(sessionId: string): void {
    const set = this.bySession.get(sessionId);
    if (!set) return;
    for (const c of set) this.sessionsOf.get(c)?.delete(sessionId);
    this.bySession.delete(sessionId);
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

  /**
   * A command fact (see the header): `actor` and `sessionId` are the command's, `submitter` its
   * connection (null after a restart). `frame`: the event, or how to build it (built and serialized
   * once, and only if a connection wants it).
   */
  command(sessionId: string | null, actor: string, frame: object | (() => object), submitter: Connection | null): void {
    let text: string | undefined;
    const subscribers = sessionId !== null ? this.bySession.get(sessionId) : undefined;
    for (const c of this.connections) {
      if (c.closed) continue;
      const scope = this.scopes.get(c) ?? "all";
      const own = c === submitter && scope !== "none";
      const wanted = own || scope === "all" || this.all.has(c) || subscribers?.has(c) === true;
      if (!wanted) continue;
      if (this.visible !== null && c !== submitter && !this.visible(c, sessionId, actor)) continue;
      const held = this.suppressed.get(c);
      if (held && (held.all || (sessionId !== null && held.sessionId === sessionId))) continue;
      c.send((text ??= serialize((typeof frame === "function" ? frame() : frame) as never)), "event");
    }
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
