/**
 * The Redis journal behind the `Store` seam (docs/redis-store.md is its ADR).
 *
 * - Write side in Redis: commit(records) is ONE Lua script (commit-script.ts) that checks the whole
 *   batch (lease token, gap-free seq / lane seq, ids, idempotency claims, the compare-and-swap of
 *   every status change through the generated transition table, outcomes once, session versions)
 *   and then appends it to the journal stream and updates the materialized keys, or writes nothing.
 * - Synchronous: a worker thread owns the Redis connection; every call waits for its reply with a
 *   timeout (bridge.ts). A call that times out or a lost lease fails the store closed.
 * - Query side: a local projection (projection.ts), a SqliteStore fed the same records once Redis
 *   accepted them and caught up from the Redis journal at open; every read is the projection's.
 */
import { randomUUID } from "node:crypto";
import type { CompactionReport, RetentionPolicy } from "../retention.js";
import type { SqliteStore } from "../sqlite-store.js";
import {
  JournalWriteError,
  StoreOpenError,
  type LaneOwnership,
  type JournalRecord,
  type RecoveredState,
  type Store,
  type StoreLog,
  type StoreStats,
} from "../types.js";
import { BridgeError, RedisBridge, type ScriptSpec } from "./bridge.js";
import { commitScript, type CommitReply } from "./commit-script.js";
import { compactScript, type CompactReply } from "./compact-script.js";
import { compactRedisJournal } from "./compaction.js";
import { DEFAULT_JOURNAL_NAME, META_LUA, REDIS_ENCODING, keyspace, redactUrl, type Keyspace } from "./keyspace.js";
import { DEFAULT_REDIS_LEASE_TTL_MS, RedisLease } from "./lease.js";
import { ACQUIRE_LUA, RELEASE_LUA, RENEW_LUA } from "./lease-script.js";
import { CLAIM_LUA, ORPHANS_LUA } from "./lanes-script.js";
import type { Mailbox } from "./mailbox.js";
import { openNodeLanes, type NodeLanes } from "./node-lanes.js";
import { ProjectedQueries } from "./projected-queries.js";
import { applyStream, openProjection } from "./projection.js";
import { auditRedisKeys, type RedisKeyViolation } from "./key-audit.js";
import { hashOf, lastStreamSeq, readCheckpointBase, readExistingMeta, readStreamPage, snapshotKeys, type RedisKeySnapshot } from "./read-only.js";

export interface RedisStoreOptions {
  /** redis://[user:password@]host:port/db */
  url: string;
  /** the journal's name: its keys live under `cw:{<name>}:` (default "causeway") */
  name?: string;
  /** the projection's SQLite file, or ":memory:" (default); `{journalId}` in it is replaced by the journal's id (meta.journalId) */
  projectionPath?: string;
  /** every call into Redis answers within this or the store fails closed (default 5000 ms) */
  timeoutMs?: number;
  /** the single-writer lease's time to live; renewed every ttl/3 (default 10000 ms) */
  leaseTtlMs?: number;
  /**
   * this node's name on a journal shared by several nodes (docs/redis-store.md "Several nodes"): the
   * node holds `lease:node:<node>` instead of the journal lease, owns lanes one by one (node-lanes.ts)
   * and the commit script numbers its batches; unset: one node holds the whole journal
   */
  node?: string;
  /** where clients reach this node (named to other nodes' clients in not_owner answers) */
  nodeUrl?: string;
  /** take the lease even from a holder that looks alive (config takeOverLease; logged) */
  takeOverLease?: boolean;
  /** for the offline tools (read-only.ts): no lease, nothing created, never writes Redis; commit throws */
  readOnly?: boolean;
  /** read-only: also take a snapshot of the materialized keys at the projection's seq (the audit's) */
  snapshotKeys?: boolean;
  now?: () => number;
  log?: StoreLog;
}

const scripts = (): Record<string, ScriptSpec> => ({
  journalCommit: { keys: 5, lua: commitScript() },
  journalCompact: { keys: 4, lua: compactScript() },
  journalMeta: { keys: 1, lua: META_LUA },
  leaseAcquire: { keys: 3, lua: ACQUIRE_LUA },
  leaseRenew: { keys: 2, lua: RENEW_LUA },
  leaseRelease: { keys: 2, lua: RELEASE_LUA },
  laneClaim: { keys: 2, lua: CLAIM_LUA },
  laneOrphans: { keys: 1, lua: ORPHANS_LUA },
});

export class RedisStore extends ProjectedQueries implements Store {
  readonly kind = "redis" as const;
  private readonly ks: Keyspace;
  private readonly where: string;
  private readonly now: () => number;
  private bridge: RedisBridge | null = null;
  private lease: RedisLease | null = null;
  private projection: SqliteStore | null = null;
  private journalIdValue: string | null = null;
  private failure: string | null = null;
  private schemaVersion = 0;
  private commits = 0;
  private commitFailures = 0;
  private recordsWritten = 0;
  private lastBatchSize = 0;
  private keys: RedisKeySnapshot | null = null;
  /** the projection's last seq (on a shared journal, other nodes' records are applied as they are read) */
  private projectedSeq = 0;
  private nodeLanes: NodeLanes | null = null;
  private mailbox: Mailbox | null = null;

  constructor(private readonly opts: RedisStoreOptions) {
    super();
    this.ks = keyspace(opts.name ?? DEFAULT_JOURNAL_NAME);
    this.where = `${redactUrl(opts.url)} ${this.ks.prefix}`;
    this.now = opts.now ?? Date.now;
  }

  /** Lane ownership on a journal shared by several nodes (the `node` option); undefined for one node's journal. */
  get ownership(): LaneOwnership | undefined {
    return this.nodeLanes ?? undefined;
  }

  /** The journal's id (meta.journalId), once open. */
  get journalId(): string | null {
    return this.journalIdValue;
  }

  open(): RecoveredState {
    if (this.bridge) throw new Error(`store ${this.where} is already open`);
    const bridge = new RedisBridge({ url: this.opts.url, scripts: scripts(), ...(this.opts.timeoutMs !== undefined ? { timeoutMs: this.opts.timeoutMs } : {}) });
    if (this.opts.readOnly === true) return this.openReadOnly(bridge);
    let lease: RedisLease | null = null;
    try {
      const meta = this.readMeta(bridge);
      const node = this.opts.node ?? null;
      lease = new RedisLease(bridge, this.ks, node === null ? "journal" : `node:${node}`, this.opts.leaseTtlMs ?? DEFAULT_REDIS_LEASE_TTL_MS, this.now);
      const stale = lease.acquire(this.where, this.opts.takeOverLease === true);
      if (node !== null && this.opts.nodeUrl !== undefined) bridge.command("HSET", lease.holder, "url", this.opts.nodeUrl);
      const lastSeq = Number(bridge.command("GET", this.ks.seq) ?? 0);
      const { store, recovered } = openProjection({ path: (this.opts.projectionPath ?? ":memory:").replaceAll("{journalId}", meta.journalId), journalId: meta.journalId, ...(this.opts.log ? { log: this.opts.log } : {}) }, lastSeq, (after, count) =>
        this.readPage(bridge, after, count),
      readCheckpointBase(bridge, this.ks, this.where));
      if (stale) {
        recovered.staleLeaseTakenOver = stale;
        this.opts.log?.warn({ journal: this.where, previousHolder: stale }, `took over the Redis journal lease of pid ${stale.pid} on ${stale.host}: its holder stopped without releasing it (the lease expired, the process is gone, or takeOverLease)`);
      }
      this.bridge = bridge;
      this.lease = lease;
      this.projection = store;
      this.journalIdValue = meta.journalId;
      this.schemaVersion = recovered.schemaVersion;
      this.projectedSeq = lastSeq;
      this.failure = null;
      return node === null ? recovered : this.openShared(node, recovered);
    } catch (err) {
      this.closeShared();
      this.projection?.close();
      this.projection = null;
      this.bridge = null;
      try {
        lease?.release();
      } catch {
        // the bridge is gone: the lease expires by itself
      }
      bridge.close();
      if (err instanceof BridgeError) throw new Error(`Redis journal ${this.where}: ${err.message}`, { cause: err });
      throw err;
    }
  }

  /** A shared journal (node-lanes.ts): this node's lanes, its mailbox, what it resumes. */
  private openShared(node: string, recovered: RecoveredState): RecoveredState {
    const deps = { bridge: this.bridge!, ks: this.ks, node, leaseKey: this.lease!.lease, token: this.lease!.token!, projection: () => this.read(), catchUp: () => this.catchUp(), lost: () => this.failure ?? this.checkLease(), schemaVersion: () => this.schemaVersion };
    const opened = openNodeLanes(deps, { url: this.opts.url, ...(this.opts.log ? { log: this.opts.log } : {}) }, recovered);
    ({ mailbox: this.mailbox, lanes: this.nodeLanes } = opened);
    return opened.recovered;
  }

  private closeShared(): void {
    void this.mailbox?.close();
    this.mailbox = null;
    this.nodeLanes = null;
  }

  /** Apply to the projection every record up to the journal's end (records other nodes wrote). */
  private catchUp(): void {
    const bridge = this.bridge;
    if (!bridge || this.failure) return;
    this.applyUpTo(bridge, Number(bridge.command("GET", this.ks.seq) ?? 0));
  }

  private applyUpTo(bridge: RedisBridge, toSeq: number): void {
    try {
      this.projectedSeq = applyStream(this.read(), this.projectedSeq, toSeq, (after, count) => readStreamPage(bridge, this.ks, this.where, after, count, toSeq));
    } catch (err) {
      this.failClosed(`the projection could not apply other nodes' records (${err instanceof Error ? err.message : String(err)}); restart to rebuild it`);
      throw new JournalWriteError(`journal ${this.where}: ${this.failure!}`, err);
    }
  }

  /** Read-only (read-only.ts): the projection built afresh up to one seq, the keys at that seq; the bridge is closed after. */
  private openReadOnly(bridge: RedisBridge): RecoveredState {
    try {
      const meta = readExistingMeta(bridge, this.ks, this.where);
      const keys = this.opts.snapshotKeys === true ? snapshotKeys(bridge, this.ks, this.where) : null;
      const toSeq = keys?.seq ?? lastStreamSeq(bridge, this.ks);
      const { store, recovered } = openProjection({ path: this.opts.projectionPath ?? ":memory:", journalId: meta.journalId }, toSeq, (after, count) =>
        readStreamPage(bridge, this.ks, this.where, after, count, toSeq),
      keys ? (keys.base ?? null) : readCheckpointBase(bridge, this.ks, this.where));
      this.projection = store;
      this.keys = keys;
      this.journalIdValue = meta.journalId;
      this.schemaVersion = recovered.schemaVersion;
      return recovered;
    } catch (err) {
      if (err instanceof BridgeError) throw new Error(`Redis journal ${this.where}: ${err.message}`, { cause: err });
      throw err;
    } finally {
      bridge.close();
    }
  }

  /**
   * Read-only with snapshotKeys: Redis's materialized keys compared with what the journal implies
   * (the projection's tables, derived from the same records): every difference (key-audit.ts).
   */
  auditMaterializedKeys(): RedisKeyViolation[] {
    if (!this.keys) throw new Error(`journal ${this.where}: the materialized keys are read by a read-only open with snapshotKeys`);
    return auditRedisKeys(this.keys, this.read().database(), this.ks.prefix);
  }

  /** The meta hash, created on first use; a newer encoding than ours is refused. */
  private readMeta(bridge: RedisBridge): { journalId: string; encoding: number } {
    const h = hashOf(bridge.script("journalMeta", [this.ks.meta, REDIS_ENCODING, randomUUID(), this.now()]));
    const encoding = Number(h.encoding);
    if (!(encoding <= REDIS_ENCODING)) {
      throw new StoreOpenError("schema_too_new", `Redis journal ${this.where} has value encoding ${h.encoding}; this causeway reads up to ${REDIS_ENCODING}`, { encoding: h.encoding });
    }
    return { journalId: h.journalId!, encoding };
  }

  /** Records with seq > afterSeq from the journal stream, at most `count`. */
  private readPage(bridge: RedisBridge, afterSeq: number, count: number): JournalRecord[] {
    return readStreamPage(bridge, this.ks, this.where, afterSeq, count);
  }

  commit(records: JournalRecord[]): void {
    const bridge = this.bridge;
    const projection = this.projection;
    if (!bridge || !projection) {
      this.commitFailures++;
      throw new JournalWriteError(`journal ${this.where} is ${this.opts.readOnly === true ? "opened read-only (an offline tool's)" : "not open"}`);
    }
    const down = this.failure ?? this.checkLease();
    if (down) {
      this.commitFailures++;
      throw new JournalWriteError(`journal ${this.where}: ${down}`);
    }
    if (records.length > 0) {
      const last = this.writeRedis(bridge, records);
      if (this.nodeLanes) {
        // the script numbered the batch after whatever other nodes wrote since: those first
        const first = last - records.length + 1;
        this.applyUpTo(bridge, first - 1);
        records.forEach((r, i) => (r.seq = first + i));
      }
    }
    try {
      projection.commit(records);
      if (records.length > 0) this.projectedSeq = records[records.length - 1]!.seq;
    } catch (err) {
      this.failClosed(`the projection refused a batch the Redis journal accepted (${err instanceof Error ? err.message : String(err)}); restart to rebuild it`);
      this.commitFailures++;
      throw new JournalWriteError(`journal ${this.where}: ${this.failure!}`, err);
    }
    this.commits++;
    this.recordsWritten += records.length;
    this.lastBatchSize = records.length;
  }

  /** The batch script; a refusal or failure throws JournalWriteError (a lost lease or dead bridge for good). */
  private writeRedis(bridge: RedisBridge, records: JournalRecord[]): number {
    const lease = this.lease!;
    const node = this.opts.node ?? "";
    // a shared journal's script numbers the batch: each record goes without its seq (the JSON after its "{")
    const text = node === "" ? (r: JournalRecord) => JSON.stringify(r) : (r: JournalRecord) => JSON.stringify({ ...r, seq: undefined }).slice(1);
    let reply: CommitReply;
    try {
      const args = [this.ks.meta, this.ks.journal, this.ks.seq, this.ks.lanes, lease.lease, this.ks.prefix, lease.token ?? "", REDIS_ENCODING, node, ...records.map(text)];
      reply = bridge.script("journalCommit", args) as CommitReply;
    } catch (err) {
      this.commitFailures++;
      const msg = err instanceof Error ? err.message : String(err);
      // only an error Redis replied with before running the script (OOM, READONLY, …) leaves the batch
      // certainly unwritten; a lost connection, a timeout or the script failing while it ran leave it
      // unknown: fail closed, a restart reads the truth back from Redis
      if (!(err instanceof BridgeError && err.reply && !/user_script|running script/i.test(msg))) this.failClosed(msg);
      throw new JournalWriteError(`journal commit failed: ${msg}`, err);
    }
    if (reply[0] === "ok") return reply[1];
    this.commitFailures++;
    if (reply[0] === "lease" || reply[0] === "lost") {
      const why = reply[0] === "lease" ? reply[1] : reply[2];
      this.failClosed(why);
      throw new JournalWriteError(`journal ${this.where}: ${why}`);
    }
    const [, index, why] = reply;
    const r = records[index];
    const where = r ? `record #${index} (seq ${r.seq}, ${r.phase} ${r.commandId})` : `record #${index}`;
    throw new JournalWriteError(`journal commit rolled back: ${where}: ${why}`);
  }

  private checkLease(): string | null {
    const lost = this.lease?.lost() ?? null;
    if (lost) this.failClosed(lost);
    return lost;
  }

  private failClosed(reason: string): void {
    if (this.failure) return;
    this.failure = reason;
    this.opts.log?.error({ journal: this.where, reason }, `journal unavailable: ${reason}; every commit now fails with journal_unavailable until causeway is restarted`);
  }

  // ---------------------------------------------------------------------------------------------
  // query side: the projection's

  protected read(): SqliteStore {
    if (!this.projection) throw new Error(`journal ${this.where} is not open`);
    return this.projection;
  }

  /** The projection's connection (read it only), for the journal's own tools and tests, as SqliteStore.database(). */
  projectionDatabase(): ReturnType<SqliteStore["database"]> {
    return this.read().database();
  }

  /** Retention (compaction.ts): planned and applied on the projection, each batch re-checked and applied in Redis first. */
  async compact(policy: RetentionPolicy, now: () => number): Promise<CompactionReport | null> {
    // a journal shared by several nodes is not compacted: another node may still have to read what
    // a cut would remove (its projection catches up from the stream); docs/redis-store.md
    if (this.nodeLanes) return null;
    return compactRedisJournal(this.read(), policy, now, (cut, at, base, removed) => this.compactBatch(cut, at, base, removed));
  }

  /** One compaction batch in Redis (compact-script.ts): a refusal throws; a lost lease or an unknown fate fails the store closed. */
  private compactBatch(cut: number, at: number, base: string, removed: string[]): void {
    const bridge = this.bridge;
    const lease = this.lease;
    const down = !bridge || !lease ? `is ${this.opts.readOnly === true ? "opened read-only" : "not open"}` : (this.failure ?? this.checkLease());
    if (down) throw new JournalWriteError(`journal ${this.where}: ${down}`);
    let reply: CompactReply;
    try {
      const args = [lease!.lease, this.ks.journal, this.ks.seq, this.ks.checkpoint, this.ks.prefix, lease!.token ?? "", REDIS_ENCODING, cut, at, base, ...removed];
      reply = bridge!.script("journalCompact", args) as CompactReply;
    } catch (err) {
      this.failClosed(err instanceof Error ? err.message : String(err));
      throw new JournalWriteError(`journal compaction failed: ${this.failure!}`, err);
    }
    if (reply[0] === "ok") return;
    if (reply[0] === "lease") this.failClosed(reply[1]);
    throw new JournalWriteError(`journal compaction refused at cut ${cut}: ${reply[1]}`);
  }

  stats(): StoreStats {
    return {
      kind: this.kind,
      path: redactUrl(this.opts.url),
      failure: this.failure,
      schemaVersion: this.schemaVersion,
      commits: this.commits,
      commitFailures: this.commitFailures,
      recordsWritten: this.recordsWritten,
      lastBatchSize: this.lastBatchSize,
    };
  }

  /** test-only: stop renewing the lease, as a paused process would */
  stopLeaseRenewalForTest(): void {
    this.lease?.stopRenewal();
  }

  close(): void {
    const bridge = this.bridge;
    try {
      if (bridge && !bridge.failure) this.lease?.release();
    } catch {
      // Redis unreachable: the lease expires by itself
    }
    this.lease = null;
    this.closeShared();
    bridge?.close();
    this.bridge = null;
    this.projection?.close();
    this.projection = null;
  }
}
