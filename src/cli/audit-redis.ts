/**
 * `causeway audit --store redis://…` (#18): the replay audit of a Redis journal, through a fresh
 * projection built by the read-only open (journal/redis/read-only.ts: no lease, no write), and the
 * audit of Redis's own materialized keys against what the journal implies (invariant
 * `redis_materialized_keys`, journal/redis/key-audit.ts), merged into the one report.
 */
import type { AuditReport, InvariantName, Violation } from "../audit/index.js";
import type { AuditReads } from "../journal/audit-reads.js";
import type { RedisKeyViolation } from "../journal/redis/key-audit.js";

export interface RedisAuditSource {
  journal: AuditReads;
  /** the URL without credentials, as the report names it */
  where: string;
  /** every difference between Redis's keys and the journal, at the audited seq */
  keyViolations(): RedisKeyViolation[];
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
    keyViolations: () => store.auditMaterializedKeys(),
    close: () => store.close(),
  };
}

/** The report with the key audit merged in (its tally, its violations, ok). */
export function withKeyAudit(report: AuditReport, found: RedisKeyViolation[]): AuditReport {
  const name = "redis_materialized_keys" as InvariantName;
  const violations: Violation[] = found.map(({ invariant, key, message, evidence, ...ids }) => ({ invariant: invariant as InvariantName, ...ids, message, evidence: { key, ...evidence } }));
  return {
    ...report,
    ok: report.ok && found.length === 0,
    invariants: { ...report.invariants, [name]: { checks: 1, violations: found.length } },
    violations: [...report.violations, ...violations],
  };
}

/** The replay audit's text report with the key audit's lines put before its result line (restated). */
export function formatKeyAudit(text: string, found: RedisKeyViolation[]): string {
  const lines = text.trimEnd().split("\n");
  const result = lines.pop()!;
  lines.push(`${"redis_materialized_keys".padEnd(28)}${"1".padStart(12)}${String(found.length).padStart(12)}   (Redis's keys vs the journal)`);
  for (const v of found.slice(0, 100)) lines.push(`  [${v.invariant}] ${v.message}`);
  if (found.length > 100) lines.push(`  … and ${found.length - 100} more (--json lists them all)`);
  lines.push("");
  const keys = `${found.length} in Redis's materialized keys`;
  lines.push(found.length === 0 ? result : /FAILED/.test(result) ? `${result}; and ${keys}` : `result: FAILED — ${keys}`);
  return `${lines.join("\n")}\n`;
}
