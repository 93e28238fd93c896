/**
 * What the journal may already hold, answered without SQLite: a Bloom filter over every command id
 * and every idempotency (scope, key) the journal has. A miss means "never journaled" and saves the
 * store its index lookups for a new id or key (most admissions); a hit is checked in SQLite as
 * before, so answers stay exact. The filter fills from the tables in slices after open (each slice
 * one keyset page, then a yield to the event loop, so a large journal does not delay startup or
 * stall lanes) and is used only once full; until then every lookup goes to SQLite. Every accepted
 * record is added before its batch is written. Compaction never removes entries (a stale entry only
 * costs one lookup).
 */
import type Database from "better-sqlite3";
import { BloomFilter } from "./bloom.js";
import type { JournalRecord } from "./record.js";

/** rows per fill slice */
const SLICE = 10_000;

const commandKey = (id: string): string => `c\u0000${id}`;
const idemKey = (scope: string, key: string): string => `k\u0000${scope}\u0000${key}`;

export class KnownIds {
  private readonly filter: BloomFilter | null;
  private full = false;
  private timer: NodeJS.Immediate | null = null;

  /** `bits` 0 disables the filter: every lookup goes to SQLite. `slice`: rows read per fill step. */
  constructor(
    bits: number,
    private readonly slice = SLICE,
  ) {
    this.filter = bits > 0 ? new BloomFilter(bits) : null;
  }

  /** Whether the filter holds everything the journal had at open (only then does a miss count). */
  get ready(): boolean {
    return this.full;
  }

  stats(): { bits: number; entries: number; ready: boolean } {
    return { bits: this.filter?.bits ?? 0, entries: this.filter?.added ?? 0, ready: this.full };
  }

  /** false: the journal holds no command with this id (true: ask SQLite) */
  mayHaveCommand(id: string): boolean {
    return !this.full || this.filter!.mayContain(commandKey(id));
  }

  /** false: the journal holds no entry for this idempotency key (true: ask SQLite) */
  mayHaveKey(scope: string, key: string): boolean {
    return !this.full || this.filter!.mayContain(idemKey(scope, key));
  }

  /**
   * Note a batch about to be written: its accepted ids and keys. Returns the accepted records whose
   * id (and key, if any) the filter did not hold before, once it is in use: the journal never held
   * them, so their rows cannot exist yet (a batch's own repeats are the batch's to find).
   */
  note(records: readonly JournalRecord[]): Set<JournalRecord> {
    const fresh = new Set<JournalRecord>();
    const f = this.filter;
    if (!f) return fresh;
    for (const r of records) {
      if (r.phase !== "accepted") continue;
      const id = commandKey(r.commandId);
      const key = r.idempotencyKey != null && r.idempotencyScope != null ? idemKey(r.idempotencyScope, r.idempotencyKey) : null;
      if (this.full && !f.mayContain(id) && (key === null || !f.mayContain(key))) fresh.add(r);
      f.add(id);
      if (key !== null) f.add(key);
    }
    return fresh;
  }

  /** Fill from the commands and idempotency tables in slices; `done` runs once the filter is in use. */
  fill(db: Database.Database, done: () => void = () => {}): void {
    const f = this.filter;
    if (!f) return;
    const ids = db.prepare("SELECT command_id FROM commands WHERE command_id > ? ORDER BY command_id LIMIT ?").pluck();
    const keys = db.prepare("SELECT scope, key FROM idempotency WHERE (scope, key) > (?, ?) ORDER BY scope, key LIMIT ?").raw();
    let lastId: string | null = "";
    let last: [string, string] | null = ["", ""];
    // one step reads one page of ids and, once they are all read, one page of keys
    const step = (): void => {
      this.timer = null;
      if (!db.open) return;
      if (lastId !== null) {
        const page = ids.all(lastId, this.slice) as string[];
        for (const id of page) f.add(commandKey(id));
        lastId = page.length < this.slice ? null : page[page.length - 1]!;
      }
      if (lastId === null && last !== null) {
        const page = keys.all(last[0], last[1], this.slice) as Array<[string, string]>;
        for (const [scope, key] of page) f.add(idemKey(scope, key));
        last = page.length < this.slice ? null : page[page.length - 1]!;
      }
      if (lastId === null && last === null) {
        this.full = true;
        done();
        return;
      }
      this.timer = setImmediate(step);
    };
    step();
  }

  /** Stop filling (the store closes). */
  stop(): void {
    if (this.timer) clearImmediate(this.timer);
    this.timer = null;
  }
}
