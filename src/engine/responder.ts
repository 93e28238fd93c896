/**
 * Responses and per-connection in-flight accounting. A connection owes one credit per admitted
 * command or attached duplicate; the credit is returned when its response is sent. The credit
 * count is what `maxInFlightPerConnection` bounds, which in turn bounds the responses a slow
 * consumer can owe (responses are never dropped).
 */
import { failure, responseFrame } from "../protocol/frames.js";
import type { Outcome } from "../protocol/types.js";
import type { Connection } from "../protocol/connection.js";
import type { Publisher } from "./publisher.js";

export class Responder {
  private readonly credits = new Map<Connection, number>();

  constructor(private readonly publisher: Publisher) {}

  inflight(conn: Connection): number {
    return this.credits.get(conn) ?? 0;
  }

  /** One more response owed to `conn`. */
  owe(conn: Connection): void {
    this.credits.set(conn, this.inflight(conn) + 1);
  }

  forget(conn: Connection): void {
    this.credits.delete(conn);
  }

  /** Answer a command that was never admitted (no credit was taken). */
  refuse(conn: Connection, replyId: string | undefined, outcome: Outcome): void {
    this.publisher.respond(conn, responseFrame(replyId, outcome));
  }

  /** Answer an owed response and return its credit. */
  respond(conn: Connection | null, replyId: string | undefined, outcome: Outcome, replayed = false): void {
    if (!conn) return;
    this.release(conn);
    this.publisher.respond(conn, responseFrame(replyId, outcome, replayed));
  }

  release(conn: Connection): void {
    const n = this.inflight(conn);
    if (n <= 1) this.credits.delete(conn);
    else this.credits.set(conn, n - 1);
  }
}

export function journalUnavailable(command: string): Outcome {
  return failure(command, "journal_unavailable", "the journal could not commit this command; it was not completed. Retry once the server reports a healthy journal.");
}
