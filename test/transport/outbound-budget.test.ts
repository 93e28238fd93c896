import { describe, expect, it } from "vitest";
import { OutboundBudget, type BudgetMember } from "../../src/transport/outbound-budget.js";

class Member implements BudgetMember {
  cutReason: string | null = null;
  constructor(
    readonly id: string,
    public bytes: number,
    private readonly budget: () => OutboundBudget<Member>,
  ) {}
  bufferedBytes(): number {
    return this.bytes;
  }
  cut(reason: string): void {
    this.cutReason = reason;
    this.budget().remove(this);
  }
}

describe("OutboundBudget (#15.14)", () => {
  it("cuts the largest buffers, largest first, until the total fits; drained buffers are re-measured before anyone is cut", () => {
    const cuts: Array<[string, number, number]> = [];
    const budget = new OutboundBudget<Member>(100, (m, bytes, total) => cuts.push([m.id, bytes, total]));
    const get = (): OutboundBudget<Member> => budget;
    const a = new Member("a", 40, get);
    const b = new Member("b", 30, get);
    const c = new Member("c", 20, get);
    for (const m of [a, b, c]) budget.report(m);
    expect(budget.trackedBytes).toBe(90);
    // a drained meanwhile (unreported): the recount sees it, nobody is cut
    a.bytes = 0;
    c.bytes = 60;
    budget.report(c);
    expect(cuts).toEqual([]);
    expect(budget.trackedBytes).toBe(90);
    // now the total really is over: c (largest) goes, then the rest fits
    b.bytes = 50;
    budget.report(b);
    expect(cuts).toEqual([["c", 60, 110]]);
    expect(c.cutReason).toBe("slow consumer");
    expect(a.cutReason).toBeNull();
    expect(b.cutReason).toBeNull();
    expect(budget.trackedBytes).toBe(50);
    // a member that leaves no longer counts
    budget.remove(b);
    expect(budget.trackedBytes).toBe(0);
  });

  it("keeps cutting the largest member each time a report takes the total over", () => {
    const budget = new OutboundBudget<Member>(10);
    const get = (): OutboundBudget<Member> => budget;
    const ms = [new Member("a", 8, get), new Member("b", 9, get), new Member("c", 7, get)];
    ms[0]!.bytes = 0;
    for (const m of ms) budget.report(m);
    ms[0]!.bytes = 8;
    budget.report(ms[0]!);
    expect(ms.map((m) => m.cutReason !== null)).toEqual([true, true, false]);
  });
});
