/**
 * What the checker knows about each command id as of a row: open (admitted and not finished: its
 * accepted row and what its rows since say), done (finished: at which seq, and whether it
 * succeeded) or unknown. Memory: one number per finished command; the accepted row only while a
 * command is open.
 *
 * A partial scan (a window, a session filter) has not read every command's rows: it looks an id it
 * does not know up in the journal before the row (prior.ts) and keeps what it finds when the
 * command's lane is in scope.
 */
import type { JournalRecord } from "../journal/types.js";
import type { CommandStatus } from "../lifecycle/status.js";
import type { PriorFacts } from "./prior.js";

/** An admitted command whose finished row has not been read yet. */
export interface OpenCommand {
  accepted: JournalRecord;
  status: "queued" | "running";
  /** schema v5: the status and revision the rows so far give it (transition table, CAS) */
  store: CommandStatus;
  revision: number;
  /** when it last joined its lane queue (accepted, approved, released): its deadline's base */
  queuedAt: number;
  startedAt: number | null;
  startedSeq: number | null;
  /** undo-log mark taken when a server-lane command started */
  serverMark: number;
  marked: boolean;
}

export type Resolved = { kind: "open"; cmd: OpenCommand } | { kind: "done"; seq: number; success: boolean } | { kind: "unknown" };

/** A command as its accepted row leaves it: queued, revision 0. */
function openCommand(accepted: JournalRecord): OpenCommand {
  return { accepted, status: "queued", store: "queued", revision: 0, queuedAt: accepted.recordedAt, startedAt: null, startedSeq: null, serverMark: -1, marked: false };
}

export class CommandIndex {
  private readonly open = new Map<string, OpenCommand>();
  /** finished commands: finishedSeq * 2 + (success ? 1 : 0) */
  private readonly done = new Map<string, number>();

  constructor(
    private readonly prior: PriorFacts,
    /** not every command's rows are read: look unknown ids up */
    private readonly partial: boolean,
    private readonly inScope: (lane: string) => boolean,
  ) {}

  /** An accepted row: the command is open. */
  admit(r: JournalRecord): void {
    this.open.set(r.commandId, openCommand(r));
  }

  /** A finished row: the command is done. */
  finish(r: JournalRecord): void {
    this.open.delete(r.commandId);
    this.done.set(r.commandId, r.seq * 2 + (r.outcome?.success ? 1 : 0));
  }

  /** Was this command's accepted or finished row read (or looked up)? */
  has(id: string): boolean {
    return this.open.has(id) || this.done.has(id);
  }

  /** The commands still open, in admission order. */
  unfinished(): IterableIterator<[string, OpenCommand]> {
    return this.open.entries();
  }

  /** What is known about a command as of row `atSeq`. */
  resolve(id: string, atSeq: number): Resolved {
    const cmd = this.open.get(id);
    if (cmd) return { kind: "open", cmd };
    const d = this.done.get(id);
    if (d !== undefined) return { kind: "done", seq: Math.floor(d / 2), success: d % 2 === 1 };
    if (!this.partial) return { kind: "unknown" };
    const history = this.prior.commandHistory(id, atSeq);
    let found: OpenCommand | undefined;
    let finished: JournalRecord | undefined;
    for (const h of history) {
      if (found && typeof h.revision === "number" && h.status) Object.assign(found, { store: h.status, revision: h.revision, ...(h.phase === "approved" || h.phase === "released" ? { queuedAt: h.recordedAt } : {}) });
      if (h.phase === "accepted" && !found) found = openCommand(h);
      else if (found && h.phase === "started") Object.assign(found, { status: "running", startedAt: h.recordedAt, startedSeq: h.seq });
      else if (found && h.phase === "requeued") Object.assign(found, { status: "queued", startedAt: null, startedSeq: null });
      else if (h.phase === "finished" && !finished) finished = h;
    }
    const lane = found?.accepted.lane ?? finished?.lane;
    const cacheable = lane !== undefined && this.inScope(lane);
    if (finished) {
      if (cacheable) this.done.set(id, finished.seq * 2 + (finished.outcome?.success ? 1 : 0));
      return { kind: "done", seq: finished.seq, success: finished.outcome?.success === true };
    }
    if (found) {
      if (cacheable) this.open.set(id, found);
      return { kind: "open", cmd: found };
    }
    return { kind: "unknown" };
  }
}
