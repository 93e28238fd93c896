/**
 * `causeway audit --store redis://…` (#18): the replay audit of a Redis journal, through a fresh
 * projection built by the read-only open (journal/redis/read-only.ts: no lease, no write), and the
 * audit of Redis's own materialized keys against what the journal implies
 * (journal/redis/key-audit.ts), wired to the audit's store invariant `redis_materialized_keys`
 * (src/audit owns its name, description, tally and report lines: store-checks.ts).
 */
import type { StoreCheck } from "../audit/index.js";
import type { AuditReads } from "../journal/audit-reads.js";

export interface RedisAuditSource {
  journal: AuditReads;
  /** the URL without credentials, as the report names it */
  where: string;
  /** the store's checks for the audit: Redis's keys vs the journal, at the audited seq */
  storeChecks: StoreCheck[];
  close(): void;
}

/** Open the Redis journal at `url` read-only, with its keys' snapshot. */
export async function openRedisAudit(url: string): Promise<RedisAuditSource> {
  const [{ RedisStore }, { redactUrl }] = await Promise.all([import("../journal/redis/redis-store.js"), import("../journal/redis/keyspace.js")]);
  const store = new RedisStore({ url, readOnly: true, snapshotKeys: true, timeoutMs: 30_000 });
  store.open();
  return {
    journal: store.openAuditReads(),
    where: redactUrl(url),
    storeChecks: [{ invariant: "redis_materialized_keys", run: () => store.auditMaterializedKeys() }],
    close: () => store.close(),
  };
}
