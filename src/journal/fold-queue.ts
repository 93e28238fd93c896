/**
 * The writes a batch defers (batch-fold.ts). A derived row the batch changes is written once: at the
 * end of the batch, or earlier when a later record needs it written. Each deferred write carries the
 * check of the record that first changed the row (a compare-and-swap, a claim, a session guard), so
 * the writes run in the order of those records, and a refusal names that record: the first
 * violated check in record order is the one reported, as when every record wrote its rows at once.
 */

/** An invariant violated by a batch; always rolls the transaction back. */
export class InvariantViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvariantViolation";
  }
}

/** A refusal (or error) of the batch's record #index. */
export class AtRecord extends Error {
  constructor(
    readonly index: number,
    readonly error: unknown,
  ) {
    super(error instanceof Error ? error.message : String(error));
    this.name = "AtRecord";
  }
}

/** A violated check, as opposed to a failing database (I/O, full disk, lost transaction). */
export function isRefusal(err: unknown): boolean {
  if (err instanceof InvariantViolation) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_CONSTRAINT");
}

/** Which row of a record a deferred write carries the check of, in the order a record checks them. */
export const ROW_COMMAND = 0;
export const ROW_KEY = 1;
export const ROW_SESSION = 2;
const ROWS = 4;

/** The order of record #index's checks (all of them: `row` 0). */
export const orderOf = (index: number, row = 0): number => index * ROWS + row;

/** One deferred write of a row. */
export abstract class Pending {
  /** written (or failed): a later change of the row starts a new write */
  done = false;
  readonly order: number;

  constructor(
    readonly index: number,
    row: number,
  ) {
    this.order = orderOf(index, row);
  }

  /** Write the row as the batch left it; throws when the check of record #index fails. */
  abstract write(): void;

  /** Read-only: whether write() would pass the check of record #index against the stored row now. */
  abstract check(): boolean;
}

export class PendingQueue {
  private readonly items: Pending[] = [];
  private next = 0;

  /** `open`: the write transaction is still open (SQLite rolls back by itself after some errors). */
  constructor(private readonly open: () => boolean) {}

  reset(): void {
    this.items.length = 0;
    this.next = 0;
    this.early = false;
  }

  /** Pushed in record order (and within a record in row order). */
  push(p: Pending): void {
    this.items.push(p);
  }

  /** How many writes were pushed so far (where a batch's own begin). */
  get length(): number {
    return this.items.length;
  }

  /**
   * A projection that outlives its batch (projection.ts): run the check of every write pushed from
   * `from` on, in record order, without writing; the first that would fail is written right then,
   * so it raises the genuine error and wording. The others stay deferred.
   */
  check(from: number): void {
    const items = this.items;
    for (let i = Math.max(from, this.next); i < items.length; i++) {
      const p = items[i]!;
      if (p.done || p.check()) continue;
      p.done = true;
      try {
        p.write();
      } catch (err) {
        throw new AtRecord(p.index, err);
      }
    }
  }

  /** Write, in order, every deferred row whose check comes before `limit` (orderOf). */
  settle(limit: number): void {
    const items = this.items;
    while (this.next < items.length) {
      const p = items[this.next]!;
      if (p.order >= limit) return;
      this.next++;
      if (p.done) continue;
      p.done = true;
      try {
        p.write();
      } catch (err) {
        throw new AtRecord(p.index, err);
      }
    }
  }

  /** a write ran before its turn since the last reset() (a projection must then flush with the batch) */
  early = false;

  /** Write one row before its turn; a refusal is reported after every earlier check ran. */
  flushOne(p: Pending): void {
    if (p.done) return;
    p.done = true;
    this.early = true;
    try {
      p.write();
    } catch (err) {
      this.settleOnError(p.order);
      throw new AtRecord(p.index, err);
    }
  }

  /**
   * Something of record #index failed: an earlier record whose deferred check fails comes first
   * (only refusals, and only while the transaction is still open: after an I/O error SQLite may have
   * rolled it back, and a write now would commit on its own). Returns that earlier refusal, if any.
   */
  earlierRefusal(index: number): AtRecord | null {
    try {
      this.settleOnError(orderOf(index));
    } catch (e) {
      if (e instanceof AtRecord && isRefusal(e.error)) return e;
    }
    return null;
  }

  private settleOnError(limit: number): void {
    if (this.open()) this.settle(limit);
  }
}
