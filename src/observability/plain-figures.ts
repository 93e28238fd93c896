/**
 * Figures as plain numbers, kept on the per-command path without prom-client: histograms (the
 * `get_metrics` twin of a prom-client histogram, same buckets) and counters per label set, which
 * prom-metrics.ts folds into the Prometheus exposition when scraped.
 */
import type { HistogramSnapshot } from "../protocol/snapshots.js";

export class PlainHistogram {
  /** observations per bucket (the first bound ≥ the value), not cumulative; above the last bound only `count` */
  private readonly perBucket: number[];
  count = 0;
  sum = 0;
  constructor(readonly bounds: readonly number[]) {
    this.perBucket = bounds.map(() => 0);
  }
  observe(v: number): void {
    this.count++;
    this.sum += v;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (v <= bounds[i]!) {
        this.perBucket[i]!++;
        return;
      }
    }
  }
  /** observations ≤ each bound (Prometheus `le` buckets), one per bound */
  cumulative(): number[] {
    let acc = 0;
    return this.perBucket.map((c) => (acc += c));
  }
  snapshot(): HistogramSnapshot {
    const buckets: Record<string, number> = {};
    const cumulative = this.cumulative();
    this.bounds.forEach((b, i) => (buckets[String(b)] = cumulative[i]!));
    buckets["+Inf"] = this.count;
    return { count: this.count, sum: this.sum, buckets };
  }
}

/** Plain histograms per label set, in the order each label set was first observed. */
export class LabeledHistograms<L extends string> {
  private readonly byKey = new Map<string, { labels: Record<L, string>; h: PlainHistogram }>();
  constructor(private readonly bounds: readonly number[]) {}
  /** `key` identifies `labels` (one key per label set); `labels` is kept on the first observation. */
  observe(key: string, labels: Record<L, string>, v: number): void {
    let e = this.byKey.get(key);
    if (e === undefined) {
      e = { labels, h: new PlainHistogram(this.bounds) };
      this.byKey.set(key, e);
    }
    e.h.observe(v);
  }
  entries(): IterableIterator<{ labels: Record<L, string>; h: PlainHistogram }> {
    return this.byKey.values();
  }
}

/** Plain counters per label set, in the order each label set was first counted. */
export class LabeledCounts<L extends string> {
  private readonly byKey = new Map<string, { labels: Record<L, string>; value: number }>();
  /** `key` identifies `labels` (one key per label set); `labels` is kept on the first count. */
  inc(key: string, labels: Record<L, string>): void {
    const e = this.byKey.get(key);
    if (e === undefined) this.byKey.set(key, { labels, value: 1 });
    else e.value++;
  }
  entries(): IterableIterator<{ labels: Record<L, string>; value: number }> {
    return this.byKey.values();
  }
}
