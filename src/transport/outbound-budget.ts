/**
 * One outbound memory budget across every connection of a transport (`maxOutboundBytesTotal`).
 * Each connection already has its own bound (`maxOutboundBytes`, slow consumers closed at 4×);
 * this one caps their sum, so many slow readers together cannot exhaust memory. When a send takes
 * the total over the budget, the connection with the largest buffer is cut as a slow consumer,
 * then the next largest, until the total fits.
 *
 * Cheap on the hot path: the total is kept from each member's last reported size. A member's
 * buffer only grows through its own sends (which report it) and shrinks on its own as the peer
 * reads, so the kept total never under-estimates; it is recomputed exactly only when it crosses
 * the budget. A member may report a cheaper upper bound of its size (a WebSocket counts the frames
 * still corked in this turn); `bufferedBytes()` is the figure the budget decides on.
 */
export interface BudgetMember {
  readonly id: string;
  /** the bytes the socket has not yet handed to the kernel (a WebSocket hands over its corked frames first) */
  bufferedBytes(): number;
  /** close as a slow consumer; the member leaves the budget (remove) */
  cut(reason: string): void;
}

export class OutboundBudget<M extends BudgetMember = BudgetMember> {
  private readonly known = new Map<M, number>();
  private total = 0;

  /** `onCut` is told each member cut, with the exact total that made it necessary */
  constructor(
    readonly limit: number,
    private readonly onCut: (member: M, bufferedBytes: number, total: number) => void = () => {},
  ) {}

  /** `member` just queued bytes: record its size (or an upper bound of it), and enforce the budget if the total crossed it */
  report(member: M, bytes: number = member.bufferedBytes()): void {
    this.total += bytes - (this.known.get(member) ?? 0);
    this.known.set(member, bytes);
    if (this.total > this.limit) this.enforce();
  }

  /** `member` is closing or gone: its bytes no longer count */
  remove(member: M): void {
    const bytes = this.known.get(member);
    if (bytes === undefined) return;
    this.known.delete(member);
    this.total -= bytes;
  }

  /** the kept total (an upper bound of the real one) */
  get trackedBytes(): number {
    return this.total;
  }

  private enforce(): void {
    this.total = 0;
    for (const m of this.known.keys()) {
      const bytes = m.bufferedBytes();
      this.known.set(m, bytes);
      this.total += bytes;
    }
    while (this.total > this.limit) {
      let largest: M | null = null;
      let largestBytes = -1;
      for (const [m, bytes] of this.known) {
        if (bytes > largestBytes) {
          largest = m;
          largestBytes = bytes;
        }
      }
      if (largest === null) return;
      const total = this.total;
      this.remove(largest);
      this.onCut(largest, largestBytes, total);
      largest.cut("slow consumer");
    }
  }
}
