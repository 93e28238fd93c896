/**
 * Test-only fault injection for the journal (config `faultFailCommit` / `faultFailCount`).
 *
 * Commit calls are counted from open(), 1-based. With failCommit = N and failCount = M, commits
 * N .. N+M-1 fail. The store throws the fault INSIDE the transaction, after every insert and update
 * of the batch ran, so it exercises a real SQLite rollback; commit() then surfaces
 * JournalWriteError("injected journal fault (commit #N)").
 */
export class InjectedJournalFault extends Error {
  readonly commitNumber: number;
  constructor(commitNumber: number) {
    super(`injected journal fault (commit #${commitNumber})`);
    this.name = "InjectedJournalFault";
    this.commitNumber = commitNumber;
  }
}

export class FaultInjector {
  private readonly failCommit: number;
  private readonly failCount: number;

  constructor(failCommit = 0, failCount = 1) {
    this.failCommit = Number.isInteger(failCommit) && failCommit > 0 ? failCommit : 0;
    this.failCount = Number.isInteger(failCount) && failCount > 0 ? failCount : 1;
  }

  get enabled(): boolean {
    return this.failCommit > 0;
  }

  /** Should commit number `n` (1-based since open) fail? */
  shouldFail(n: number): boolean {
    return this.failCommit > 0 && n >= this.failCommit && n < this.failCommit + this.failCount;
  }

  /** Throw the injected fault if commit `n` is one of the failing ones. */
  check(n: number): void {
    if (this.shouldFail(n)) throw new InjectedJournalFault(n);
  }
}
