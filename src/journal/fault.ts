/**
 * Test-only fault injection for the journal (config `faultFailCommit` / `faultFailCount` /
 * `faultKind`).
 *
 * Commit calls are counted from open(), 1-based. With failCommit = N and failCount = M, commits
 * N .. N+M-1 fail. The store throws the fault INSIDE the transaction, after every insert and update
 * of the batch ran, so it exercises a real SQLite rollback. The fault is better-sqlite3's own
 * SqliteError with the code a failing disk gives (SQLITE_IOERR, or SQLITE_FULL for a full disk),
 * so it takes the same path as a real one; commit() surfaces it as JournalWriteError.
 */
import Database from "better-sqlite3";

export type FaultKind = "ioerr" | "full";

const FAULTS: Record<FaultKind, { code: string; message: string }> = {
  ioerr: { code: "SQLITE_IOERR", message: "disk I/O error" },
  full: { code: "SQLITE_FULL", message: "database or disk is full" },
};

/** The error an injected fault raises: a real SqliteError, marked as injected in its message. */
export function injectedFault(kind: FaultKind, commitNumber: number): InstanceType<typeof Database.SqliteError> {
  const f = FAULTS[kind];
  return new Database.SqliteError(`${f.message} (injected fault, commit #${commitNumber})`, f.code);
}

export class FaultInjector {
  private readonly failCommit: number;
  private readonly failCount: number;
  private readonly kind: FaultKind;

  constructor(failCommit = 0, failCount = 1, kind: FaultKind = "ioerr") {
    this.kind = kind;
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
    if (this.shouldFail(n)) throw injectedFault(this.kind, n);
  }
}
