/**
 * `causeway import --store redis://…` (#18): a causeway trace into an EMPTY Redis journal.
 *
 * 1. The open store (it holds the journal's lease, so no node writes meanwhile) must be empty: its
 *    projection, caught up from Redis at open, holds no record, command, session or checkpoint
 *    (import.ts assertEmptyJournal, the rule SQLite's import applies).
 * 2. The trace is imported into a scratch SQLite journal first (import.ts importTrace: the header,
 *    the records' shape, the renumbering of a filtered trace, every rule of the commit path), all
 *    or nothing, so a bad trace never reaches Redis.
 * 3. Its records are committed to the Redis store in batches: the commit script checks them again
 *    and the projection follows. If Redis refuses or fails part-way (it was empty before), the keys
 *    the import wrote are removed again — the journal is left as empty as it was found.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { ImportError, assertEmptyJournal, importTrace, type ImportOptions, type ImportReport } from "../import.js";
import { SqliteStore } from "../sqlite-store.js";
import type { Keyspace } from "./keyspace.js";
import type { RedisStore } from "./redis-store.js";

export interface RedisImportTarget {
  store: RedisStore;
  /** the store's URL and keyspace: to remove what a failed import wrote */
  url: string;
  ks: Keyspace;
  /** the journal as messages name it */
  where: string;
}

/** Remove a journal's data keys (stream, seq, lanes, checkpoint, cmd:, idem:, sess:), keeping meta, the lease and the fence. */
export async function clearJournalData(url: string, ks: Keyspace): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = "0";
    let removed = 0;
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${ks.prefix}*`, "COUNT", 1000);
      cursor = next;
      const data = keys.filter((k) => k !== ks.meta && k !== ks.fence && !k.startsWith(`${ks.prefix}lease:`));
      if (data.length > 0) removed += await redis.del(...data);
    } while (cursor !== "0");
    return removed;
  } finally {
    redis.disconnect();
  }
}

/** Import `lines` (a trace) into the open, empty Redis journal of `target.store`. Throws ImportError; on failure Redis is left empty. */
export async function importTraceToRedis(lines: Iterable<string> | AsyncIterable<string>, target: RedisImportTarget, opts: ImportOptions = {}): Promise<ImportReport> {
  const { store } = target;
  assertEmptyJournal(store.projectionDatabase(), `Redis journal ${target.where}`);
  const dir = mkdtempSync(join(tmpdir(), "causeway-import-"));
  const scratch = new SqliteStore({ path: join(dir, "scratch.db"), durability: "off" });
  try {
    scratch.open();
    const report = await importTrace(lines, scratch, opts);
    const batch = Math.max(1, opts.batchSize ?? 500);
    let after = 0;
    try {
      for (;;) {
        const page = scratch.readJournal({ afterSeq: after, limit: batch });
        if (page.length === 0) break;
        store.commit(page);
        after = page[page.length - 1]!.seq;
      }
    } catch (err) {
      await clearJournalData(target.url, target.ks);
      throw new ImportError(`${opts.source ?? "trace"}: the Redis journal ${target.where} refused or failed at seq ${after + 1}: ${err instanceof Error ? err.message : String(err)}; the records written before were removed, it is empty again`);
    }
    return report;
  } finally {
    scratch.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
