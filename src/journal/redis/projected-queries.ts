/**
 * The Redis store's query side: every read is its projection's (projection.ts), the SqliteStore fed
 * the same records, so the SQLite query code serves both providers.
 */
import type { AuditReads } from "../audit-reads.js";
import type { CommandDetail, EntriesRequest, HistoryEntries, HistoryPage, HistoryRequest } from "../queries/types.js";
import type { SqliteStore } from "../sqlite-store.js";
import type { CausalFields, IdempotencyHit, JournalQueries, JournalRecord, ReadJournalOptions, StoredCommand } from "../types.js";

export abstract class ProjectedQueries implements JournalQueries {
  /** the open projection; throws when the store is not open */
  protected abstract read(): SqliteStore;

  getCommand(commandId: string): StoredCommand | undefined {
    return this.read().getCommand(commandId);
  }

  getIdempotency(scope: string, key: string, now: number): IdempotencyHit | undefined {
    return this.read().getIdempotency(scope, key, now);
  }

  history(q: HistoryRequest): HistoryPage {
    return this.read().history(q);
  }

  historyEntries(q: EntriesRequest): HistoryEntries {
    return this.read().historyEntries(q);
  }

  commandDetail(commandId: string, opts: { maxRows: number }): CommandDetail | undefined {
    return this.read().commandDetail(commandId, opts);
  }

  readJournal(opts: ReadJournalOptions): JournalRecord[] {
    return this.read().readJournal(opts);
  }

  causalFields(commandId: string): CausalFields | undefined {
    return this.read().causalFields(commandId);
  }

  firstRetainedSeq(): number {
    return this.read().firstRetainedSeq();
  }

  openAuditReads(): AuditReads {
    return this.read().openAuditReads();
  }
}
