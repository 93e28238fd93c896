/**
 * Where the engine finds commands by id or idempotency key:
 * - jobs in flight (admitted, not yet committed + published), in memory;
 * - finished commands, from the store, through a bounded LRU cache.
 * Every stored outcome stays reachable (no count cap); memory holds only the cache.
 */
import type { Store, StoredCommand } from "../journal/types.js";
import type { Job } from "./job.js";

export interface FinishedRef {
  commandId: string;
  lane: string;
  type: string;
  fingerprint: string | null;
  success: boolean;
  stored: StoredCommand;
}

export class JobTable {
  private readonly byId = new Map<string, Job>();
  private readonly byKey = new Map<string, Job>();
  /** unfinished jobs by each id they depend on (for cycle detection) */
  private readonly dependents = new Map<string, Set<Job>>();
  private readonly cache = new Map<string, FinishedRef>();

  constructor(
    private readonly store: Store,
    private readonly cacheMax: number,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  /** memory figures (get_metrics): outcomes in the cache, its capacity, keys held by jobs in flight */
  cacheStats(): { cachedOutcomes: number; cacheMax: number; keysInFlight: number } {
    return { cachedOutcomes: this.cache.size, cacheMax: this.cacheMax, keysInFlight: this.byKey.size };
  }

  add(job: Job): void {
    this.byId.set(job.id, job);
    if (job.idempotencyScope && job.idempotencyKey) this.byKey.set(keyOf(job.idempotencyScope, job.idempotencyKey), job);
    for (const dep of job.dependsOn) {
      let set = this.dependents.get(dep);
      if (!set) this.dependents.set(dep, (set = new Set()));
      set.add(job);
    }
  }

  /** The job no longer waits on anything (it finished). */
  settle(job: Job): void {
    for (const dep of job.dependsOn) {
      const set = this.dependents.get(dep);
      if (set) {
        set.delete(job);
        if (set.size === 0) this.dependents.delete(dep);
      }
    }
  }

  /** The job's outcome is committed and published: from now on the store answers for it. */
  remove(job: Job): void {
    this.settle(job);
    if (this.byId.get(job.id) === job) this.byId.delete(job.id);
    if (job.idempotencyScope && job.idempotencyKey) {
      const k = keyOf(job.idempotencyScope, job.idempotencyKey);
      if (this.byKey.get(k) === job) this.byKey.delete(k);
    }
  }

  job(id: string): Job | undefined {
    return this.byId.get(id);
  }

  jobByKey(scope: string, key: string): Job | undefined {
    return this.byKey.get(keyOf(scope, key));
  }

  waitersFor(id: string): Set<Job> | undefined {
    return this.dependents.get(id);
  }

  jobs(): Job[] {
    return [...this.byId.values()];
  }

  finished(id: string): FinishedRef | undefined {
    const hit = this.lookup(id);
    return hit && hit.stored.outcome !== undefined ? hit : undefined;
  }

  /** Known to the store at all (finished or not), through the cache. */
  knownInStore(id: string): StoredCommand | undefined {
    return this.lookup(id)?.stored;
  }

  private lookup(id: string): FinishedRef | undefined {
    const hit = this.cache.get(id);
    if (hit) {
      this.cache.delete(id);
      this.cache.set(id, hit);
      return hit;
    }
    const stored = this.store.getCommand(id);
    if (!stored) return undefined;
    const ref: FinishedRef = {
      commandId: stored.commandId,
      lane: stored.lane,
      type: stored.type,
      fingerprint: stored.fingerprint,
      success: stored.outcome?.success ?? false,
      stored,
    };
    // only terminal outcomes are immutable, so only they are cached
    if (stored.outcome !== undefined) {
      this.cache.set(id, ref);
      if (this.cache.size > this.cacheMax) this.cache.delete(this.cache.keys().next().value as string);
    }
    return ref;
  }

  clear(): void {
    this.byId.clear();
    this.byKey.clear();
    this.dependents.clear();
  }
}

function keyOf(scope: string, key: string): string {
  return `${scope}\u0000${key}`;
}
