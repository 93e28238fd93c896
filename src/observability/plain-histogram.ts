/** A histogram as plain numbers, the `get_metrics` twin of a prom-client histogram (same buckets). */
import type { HistogramSnapshot } from "../protocol/snapshots.js";

export class PlainHistogram {
  private readonly counts: number[];
  count = 0;
  sum = 0;
  constructor(private readonly bounds: number[]) {
    this.counts = bounds.map(() => 0);
  }
  observe(v: number): void {
    this.count++;
    this.sum += v;
    for (let i = 0; i < this.bounds.length; i++) if (v <= this.bounds[i]!) this.counts[i]!++;
  }
  snapshot(): HistogramSnapshot {
    const buckets: Record<string, number> = {};
    this.bounds.forEach((b, i) => (buckets[String(b)] = this.counts[i]!));
    buckets["+Inf"] = this.count;
    return { count: this.count, sum: this.sum, buckets };
  }
}
