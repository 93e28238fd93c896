/**
 * Notices that the journal's files were deleted or replaced under a running writer.
 *
 * SQLite keeps writing to the file descriptors it holds, so after `rm data/causeway.db*` every
 * commit still "succeeds" into an unlinked inode that vanishes with the process. The guard holds
 * its own descriptor on the database file and on its -wal file, remembers their device + inode,
 * and `check()` reports:
 *  - the link count of an open file dropped to 0 (deleted): one fstat per file;
 *  - (`paths`) the path no longer exists (renamed away), or names another device + inode
 *    (replaced): one stat per file.
 * The store runs the link check after every committed batch, before the batch counts as durable,
 * and the full check on every lease heartbeat; a problem makes the store fail closed for good.
 */
import { closeSync, fstatSync, openSync, statSync } from "node:fs";

interface Watched {
  path: string;
  fd: number;
  dev: bigint;
  ino: bigint;
}

export class FileGuard {
  private readonly files: Watched[] = [];

  /** Watch each existing path of `paths` (a missing -wal is simply not watched). */
  constructor(paths: string[]) {
    for (const path of paths) {
      let fd: number;
      try {
        fd = openSync(path, "r");
      } catch {
        continue;
      }
      const st = fstatSync(fd, { bigint: true });
      this.files.push({ path, fd, dev: st.dev, ino: st.ino });
    }
  }

  /** Why the journal files are no longer the ones opened, or null while they are. */
  check(paths = true): string | null {
    for (const f of this.files) {
      try {
        if (fstatSync(f.fd, { bigint: true }).nlink === 0n) return `journal file ${f.path} was deleted while the server was running`;
        if (!paths) continue;
        const now = statSync(f.path, { bigint: true, throwIfNoEntry: false });
        if (!now) return `journal file ${f.path} was removed or renamed while the server was running`;
        if (now.dev !== f.dev || now.ino !== f.ino) return `journal file ${f.path} was replaced by another file while the server was running`;
      } catch (err) {
        return `journal file ${f.path} cannot be checked: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
    return null;
  }

  close(): void {
    for (const f of this.files.splice(0)) {
      try {
        closeSync(f.fd);
      } catch {
        // already closed
      }
    }
  }
}
