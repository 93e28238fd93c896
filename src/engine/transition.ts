/**
 * THE way the engine changes a command's status: the edge must be in the transition table, the
 * revision goes up by one, and the row's CAS (`revision = n - 1`) is re-checked by the store. The
 * job's durable status and revision follow once the row committed.
 */
import type { JournalRecord } from "../journal/types.js";
import type { CommandStatus } from "../lifecycle/status.js";
import { assertTransition } from "../lifecycle/transitions.js";
import type { Committer, NewRecord } from "./committer.js";
import type { Job } from "./job.js";

export function transition(committer: Committer, job: Job, to: CommandStatus, record: NewRecord, onCommit?: (r: JournalRecord) => void): void {
  assertTransition(job.id, job.storeStatus, to);
  job.revision += 1;
  job.storeStatus = to;
  const revision = job.revision;
  // every caller builds `record` for this call (records.ts): set on it, not copied (#17)
  record.status = to;
  record.revision = revision;
  committer.append(
    record,
    {
      onCommit: (r) => {
        job.durableStatus = to;
        job.durableRevision = revision;
        onCommit?.(r);
      },
    },
  );
}
