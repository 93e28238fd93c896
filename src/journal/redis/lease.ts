/**
 * The single-writer lease of a Redis journal, held through the bridge (lease-script.ts): acquire
 * refuses a live holder (StoreOpenError journal_locked), takes an expired one over (reported as
 * staleLeaseTakenOver), renews every ttl/3 in the worker, and answers whether it is still held.
 * Every commit script also checks the token itself: a lost lease can never write. Named leases
 * (`name`) are what per-lane leases will reuse.
 */
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import { isPidAlive } from "../lease.js";
import { StoreOpenError, type LeaseHolder } from "../types.js";
import type { RedisBridge } from "./bridge.js";
import { leaseKeys, type Keyspace } from "./keyspace.js";
import { holderOf } from "./lease-script.js";

export const DEFAULT_REDIS_LEASE_TTL_MS = 10_000;

export class RedisLease {
  readonly lease: string;
  readonly holder: string;
  private tokenValue: string | null = null;

  constructor(
    private readonly bridge: RedisBridge,
    private readonly ks: Keyspace,
    readonly name: string,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {
    ({ lease: this.lease, holder: this.holder } = leaseKeys(ks, name));
  }

  get token(): string | null {
    return this.tokenValue;
  }

  /**
   * Take the lease; returns the crashed holder it took over, if any. A live lease is taken over
   * only when its holder is a process of this host that no longer runs (a kill -9: no need to wait
   * out the ttl), or when `takeOver` says so (config takeOverLease, the operator's logged call).
   */
  acquire(where: string, takeOver = false): LeaseHolder | undefined {
    const args = (replace: string): Array<string | number> => [this.lease, this.holder, this.ks.fence, randomUUID(), this.ttlMs, process.pid, hostname(), this.now(), replace];
    let reply = this.bridge.script("leaseAcquire", args("")) as string[];
    if (reply[0] === "locked") {
      const h = holderOf(reply.slice(1));
      const dead = h !== undefined && h.host === hostname() && h.pid !== process.pid && !isPidAlive(h.pid);
      if (h?.token !== undefined && (dead || takeOver)) reply = this.bridge.script("leaseAcquire", args(h.token)) as string[];
    }
    if (reply[0] === "locked") {
      const h = holderOf(reply.slice(1));
      const who = h ? `pid ${h.pid} on ${h.host}` : "another writer";
      throw new StoreOpenError("journal_locked", `Redis journal ${where} is locked by ${who} (its lease ${this.lease} is live)`, { lease: this.lease, holder: h ? { pid: h.pid, host: h.host, startedAt: h.startedAt, heartbeatAt: h.heartbeatAt } : null });
    }
    this.tokenValue = reply[1]!;
    this.bridge.startRenewal("leaseRenew", [this.lease, this.holder, this.tokenValue, this.ttlMs], Math.max(1, Math.floor(this.ttlMs / 3)));
    const prev = holderOf(reply.slice(2));
    return prev && { pid: prev.pid, host: prev.host, startedAt: prev.startedAt, heartbeatAt: prev.heartbeatAt };
  }

  /** Null while held; why not otherwise (the worker found it taken or expired). */
  lost(): string | null {
    return this.bridge.leaseLost() ? `the journal lease ${this.lease} was lost (expired, or taken over by another writer)` : null;
  }

  /** test-only: stop renewing, as a paused process would */
  stopRenewal(): void {
    this.bridge.stopRenewal();
  }

  release(): void {
    if (this.tokenValue === null) return;
    const token = this.tokenValue;
    this.tokenValue = null;
    this.bridge.stopRenewal();
    this.bridge.script("leaseRelease", [this.lease, this.holder, token]);
  }
}
