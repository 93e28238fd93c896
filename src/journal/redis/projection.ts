/**
 * The Redis store's read model: a SqliteStore fed the records Redis accepted. At open it is checked
 * against the Redis journal (a file written for another journal — its `<path>.journal-id` sidecar
 * names another journalId — or ahead of Redis, as after a FLUSHDB, is rebuilt from scratch with a
 * warning), then catches up from the Redis journal after its own last seq, page by page. Its
 * durability is "off": it is a cache, Redis is the truth.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readRecoveredState } from "../recover.js";
import { latestCheckpoint } from "../retention.js";
import { SqliteStore } from "../sqlite-store.js";
import type { JournalRecord, RecoveredState, StoreLog } from "../types.js";
import { loadProjectionBase, restoreAfterCatchUp, type ProjectionBase } from "./checkpoint-base.js";

export const CATCH_UP_PAGE = 1_000;

export interface ProjectionOptions {
  /** SQLite file of the projection, or ":memory:" */
  path: string;
  journalId: string;
  log?: StoreLog;
}

/** Reads a page of the Redis journal: records with seq > afterSeq, at most `count`. */
export type PageReader = (afterSeq: number, count: number) => JournalRecord[];

const FILES = (path: string): string[] => [path, `${path}-wal`, `${path}-shm`, `${path}.journal-id`];

function removeFiles(path: string): void {
  for (const f of FILES(path)) rmSync(f, { force: true });
}

/** A file projection that was written for another journal (or by nothing we know) is removed. */
function claimFile(opts: ProjectionOptions): void {
  const { path, journalId, log } = opts;
  const sidecar = `${path}.journal-id`;
  const owner = existsSync(sidecar) ? readFileSync(sidecar, "utf8").trim() : null;
  if (existsSync(path) && owner !== journalId) {
    log?.warn({ projection: path, owner, journalId }, `the Redis store's projection ${path} belongs to ${owner ? `journal ${owner}` : "no known journal"}, not ${journalId}: rebuilding it from the Redis journal`);
    removeFiles(path);
  }
  writeFileSync(sidecar, `${journalId}\n`);
}

function openStore(opts: ProjectionOptions, base: ProjectionBase | null = null): { store: SqliteStore; recovered: RecoveredState } {
  const memory = opts.path === ":memory:";
  if (!memory) claimFile(opts);
  const seed = base ? { seed: (db: Parameters<typeof loadProjectionBase>[0]) => loadProjectionBase(db, base) } : {};
  const store = new SqliteStore({ path: opts.path, durability: "off", ...seed, ...(opts.log ? { log: opts.log } : {}) });
  return { store, recovered: store.open() };
}

/** Why an open projection cannot continue from Redis (null: it can): ahead of Redis, or not at Redis's checkpoint. */
function staleness(store: SqliteStore, recovered: RecoveredState, redisLastSeq: number, base: ProjectionBase | null): string | null {
  if (recovered.lastSeq > redisLastSeq) return `it is ahead of the Redis journal (seq ${recovered.lastSeq} > ${redisLastSeq}; was Redis flushed?)`;
  const own = latestCheckpoint(store.database())?.seq ?? 0;
  if (own !== (base?.seq ?? 0)) return `its retention checkpoint is at seq ${own}, the Redis journal's at ${base?.seq ?? 0}`;
  return null;
}

/**
 * Open the projection and bring it up to `redisLastSeq`: from the Redis checkpoint's `base` (a
 * compacted journal's, checkpoint-base.ts), then the retained stream. Throws when a page it applies
 * is refused (the projection and Redis disagree) or the Redis journal has a hole.
 */
export function openProjection(opts: ProjectionOptions, redisLastSeq: number, readPage: PageReader, base: ProjectionBase | null = null): { store: SqliteStore; recovered: RecoveredState } {
  let { store, recovered } = openStore(opts);
  const stale = staleness(store, recovered, redisLastSeq, base);
  if (stale) {
    // a new projection meeting a compacted journal is simply seeded; a used one is rebuilt, with a warning
    if (recovered.lastSeq > 0) opts.log?.warn({ projection: opts.path, projectionSeq: recovered.lastSeq, redisSeq: redisLastSeq }, `the Redis store's projection is stale: ${stale}: rebuilding it`);
    store.close();
    if (opts.path !== ":memory:") removeFiles(opts.path);
    ({ store, recovered } = openStore(opts, base));
  }
  try {
    const after = applyStream(store, recovered.lastSeq, redisLastSeq, readPage);
    if (stale && base) restoreAfterCatchUp(store.database(), base);
    if (after === recovered.lastSeq) return { store, recovered };
    // what the engine resumes from, as the caught-up projection holds it (recover.ts, the one rule)
    return { store, recovered: readRecoveredState(store.database(), recovered.schemaVersion) };
  } catch (err) {
    store.close();
    throw err;
  }
}

/**
 * Apply the Redis journal's records after `fromSeq` up to `toSeq` to the projection, page by page;
 * the seq applied last. Throws when the journal has a hole or the projection refuses a page.
 */
export function applyStream(store: SqliteStore, fromSeq: number, toSeq: number, readPage: PageReader): number {
  let after = fromSeq;
  while (after < toSeq) {
    const page = readPage(after, CATCH_UP_PAGE);
    if (page.length === 0 || page[0]!.seq !== after + 1) throw new Error(`the Redis journal has no record ${after + 1} (its last seq is ${toSeq})`);
    store.commit(page);
    after = page[page.length - 1]!.seq;
  }
  return after;
}
