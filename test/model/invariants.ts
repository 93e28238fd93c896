/**
 * Protocol invariants, checked without the model over the journal and the observed event streams
 * (PROTOCOL.md "Lifecycle events" and "Ordering guarantees"). Each violation names its invariant:
 *
 * - dependency_causality: a command starts only after each dependsOn id finished successfully;
 * - lane_order: per lane, laneSequence is gap-free and events arrive in order; commands start in
 *   admission order, one at a time (FIFO);
 * - session_version: create sets 0; every successful write is the previous version + 1; reads and
 *   failures report the current version;
 * - one_finished_per_admitted: exactly one `finished` per admitted command, none for others;
 * - same_id_same_outcome: every replay answers the original's stored outcome;
 * - timeout_never_started: no `started` after the deadline, and nothing starts after it finished;
 * - session_version also: a successful create_session answers `sessionVersion: 0`, a successful
 *   delete_session none (pi-server: a response names the version of the session it targets);
 * - events_match_journal: the `subscribe {scope:"all"}` stream (and, without authentication, every
 *   connection's stream) is the journal, row for row; lifecycle events always carry `dependsOn`
 *   (`[]` when none), the accepted row's list;
 * - lifecycle_order: per connection, accepted < started < finished < response;
 * - admission_order: one connection's frames are admitted in the order it sent them (so a
 *   pipelined create_session → set → get_state of one session, in one lane, runs in that order).
 */
import { canon, equal } from "./json.js";
import { matchesAccepted, type ReferenceModel } from "./model.js";
import type { SendResult } from "./responses.js";
import { WRITES } from "./rules.js";
import type { Row, Violation } from "./types.js";

interface Cmd {
  row: Row;
  started?: Row;
  finished?: Row;
}

export class JournalInvariants {
  readonly violations: Violation[] = [];
  private readonly cmds = new Map<string, Cmd>();
  private readonly laneSeq = new Map<string, number>();
  /** per lane: admitted, not finished, in admission order */
  private readonly queues = new Map<string, Cmd[]>();
  private readonly versions = new Map<string, number>();
  private lastSeq = 0;

  private v(invariant: string, r: Row, message: string): void {
    this.violations.push({ invariant, seq: r.seq, commandId: r.commandId, message });
  }

  ingest(rows: Row[]): void {
    for (const r of rows) {
      if (r.seq !== this.lastSeq + 1) this.v("lane_order", r, `seq ${r.seq} after ${this.lastSeq}`);
      this.lastSeq = r.seq;
      const ls = this.laneSeq.get(r.lane) ?? 0;
      if (r.laneSeq !== ls + 1) this.v("lane_order", r, `lane ${r.lane}: laneSequence ${r.laneSeq} after ${ls} (gap or reorder)`);
      this.laneSeq.set(r.lane, r.laneSeq);
      const c = this.cmds.get(r.commandId);
      switch (r.phase) {
        case "accepted": {
          if (c) {
            this.v("one_finished_per_admitted", r, "admitted twice");
            break;
          }
          const n: Cmd = { row: r };
          this.cmds.set(r.commandId, n);
          const q = this.queues.get(r.lane) ?? [];
          q.push(n);
          this.queues.set(r.lane, q);
          break;
        }
        case "started": {
          if (!c) {
            this.v("lifecycle_order", r, "started, never accepted");
            break;
          }
          if (c.finished) this.v("timeout_never_started", r, `started after it finished (${c.finished.outcome?.code ?? "success"})`);
          const q = this.queues.get(r.lane) ?? [];
          if (q[0] !== c) this.v("lane_order", r, `started out of admission order: ${q[0]?.row.commandId ?? "nothing"} is the lane head`);
          const running = q.find((x) => x !== c && x.started && !x.finished);
          if (running) this.v("lane_order", r, `started while ${running.row.commandId} was running in the same lane`);
          for (const d of c.row.dependsOn ?? []) {
            const dep = this.cmds.get(d);
            if (!dep?.finished || dep.finished.seq > r.seq || dep.finished.outcome?.success !== true) {
              this.v("dependency_causality", r, `started before dependency ${d} succeeded (${dep?.finished ? canon(dep.finished.outcome?.code) : "unfinished/unknown"})`);
            }
          }
          const t = c.row.timeoutMs;
          if (t !== null && r.recordedAt > c.row.recordedAt + t) this.v("timeout_never_started", r, `started ${r.recordedAt - c.row.recordedAt - t} ms after its deadline`);
          c.started = r;
          break;
        }
        case "requeued":
          if (c) c.started = undefined;
          break;
        case "finished": {
          if (!c) {
            this.v("one_finished_per_admitted", r, "finished, never accepted");
            break;
          }
          if (c.finished) {
            this.v("one_finished_per_admitted", r, `second finished row (first at seq ${c.finished.seq})`);
            break;
          }
          c.finished = r;
          const q = this.queues.get(r.lane) ?? [];
          const i = q.indexOf(c);
          if (i > 0 && c.started) this.v("lane_order", r, `finished while ${q[0]!.row.commandId} was ahead of it`);
          if (i >= 0) q.splice(i, 1);
          this.sessionVersion(r);
          break;
        }
        case "replayed": {
          const of = this.cmds.get(r.detail?.replayOf);
          if (!of?.finished) this.v("same_id_same_outcome", r, `replay of ${r.detail?.replayOf}, which has no outcome yet`);
          else if (!equal(of.finished.outcome, r.outcome)) this.v("same_id_same_outcome", r, `replay ${canon(r.outcome)} != original ${canon(of.finished.outcome)}`);
          break;
        }
        case "conflict":
          if (r.outcome?.code !== "replay_conflict") this.v("same_id_same_outcome", r, `conflict row answers ${canon(r.outcome)}`);
          break;
      }
    }
  }

  private sessionVersion(r: Row): void {
    const o = r.outcome ?? {};
    if (r.type === "create_session" && o.success === true) {
      this.versions.set(o.data?.sessionId, 0);
      if (o.data?.sessionInfo?.sessionVersion !== 0 || o.sessionVersion !== 0) this.v("session_version", r, `create_session must start at version 0 and answer it (sessionInfo ${canon(o.data?.sessionInfo?.sessionVersion)}, sessionVersion ${canon(o.sessionVersion)})`);
      return;
    }
    if (r.type === "delete_session" && o.success === true) {
      this.versions.delete(o.data?.sessionId);
      if (o.sessionVersion !== undefined) this.v("session_version", r, `a successful delete_session answers no sessionVersion (got ${o.sessionVersion})`);
      return;
    }
    if (r.sessionId === null || o.sessionVersion === undefined) return;
    const cur = this.versions.get(r.sessionId);
    if (cur === undefined) return this.v("session_version", r, `reports version ${o.sessionVersion} of a session that does not exist`);
    if (o.success === true && WRITES.has(r.type)) {
      if (o.sessionVersion !== cur + 1) this.v("session_version", r, `successful write reports version ${o.sessionVersion}, previous ${cur} (not monotonic / gap-free)`);
      this.versions.set(r.sessionId, o.sessionVersion);
    } else if (o.sessionVersion !== cur) this.v("session_version", r, `a read or failure reports version ${o.sessionVersion}, current ${cur}`);
  }

  /** When nothing is in flight: every admitted command has its one terminal outcome. */
  quiescent(): void {
    for (const c of this.cmds.values()) if (!c.finished) this.v("one_finished_per_admitted", c.row, "admitted but never finished");
  }
}

const PHASE_EVENT: Record<string, string> = {
  accepted: "command_accepted",
  started: "command_started",
  finished: "command_finished",
  replayed: "command_finished",
  conflict: "command_rejected",
};

/** The `subscribe {scope:"all"}` stream equals the journal rows it covers, in order, once each. */
export function checkEventsMatchJournal(rows: Row[], events: Array<Record<string, any>>): Violation[] {
  const out: Violation[] = [];
  const v = (message: string, r?: Row): void => void out.push({ invariant: "events_match_journal", message, seq: r?.seq, commandId: r?.commandId });
  const lifecycle = events.filter((e) => e.type in { command_accepted: 1, command_started: 1, command_finished: 1, command_rejected: 1 });
  const bySeq = new Map<number, Record<string, any>>();
  let prev = 0;
  const laneLast = new Map<string, number>();
  for (const e of lifecycle) {
    const d = e.data ?? {};
    if (bySeq.has(d.seq)) v(`event seq ${d.seq} delivered twice`);
    bySeq.set(d.seq, e);
    if (d.seq <= prev) v(`event seq ${d.seq} after ${prev}: not in seq order`);
    prev = d.seq;
    if ((laneLast.get(d.laneKey) ?? 0) >= d.laneSequence) out.push({ invariant: "lane_order", message: `events of lane ${d.laneKey}: laneSequence ${d.laneSequence} after ${laneLast.get(d.laneKey)}` });
    laneLast.set(d.laneKey, d.laneSequence);
  }
  // lifecycle events always carry dependsOn: the accepted row's list ([] when none)
  const deps = new Map(rows.filter((r) => r.phase === "accepted").map((r) => [r.commandId, r.dependsOn ?? []]));
  for (const e of lifecycle) {
    if (e.type === "command_rejected") continue;
    const d = e.data ?? {};
    const want = d.replayed === true ? undefined : deps.get(d.commandId);
    if (!Array.isArray(d.dependsOn)) v(`${e.type} ${d.commandId} (seq ${d.seq}) has no dependsOn array (${canon(d.dependsOn)})`);
    else if (want !== undefined && !equal(d.dependsOn, want)) v(`${e.type} ${d.commandId} (seq ${d.seq}) dependsOn ${canon(d.dependsOn)} != accepted ${canon(want)}`);
  }
  if (lifecycle.length === 0 || rows.length === 0) return out;
  // compare where both cover: the events' seq range intersected with the rows'
  const first = Math.max(lifecycle[0]!.data.seq as number, rows[0]!.seq);
  const last = Math.min(lifecycle[lifecycle.length - 1]!.data.seq as number, rows[rows.length - 1]!.seq);
  for (const r of rows) {
    if (r.seq < first || r.seq > last || r.phase === "requeued") continue;
    const e = bySeq.get(r.seq);
    if (!e) {
      v(`journal row ${r.phase} has no event`, r);
      continue;
    }
    const d = e.data;
    if (e.type !== PHASE_EVENT[r.phase] || d.commandId !== r.commandId || d.laneKey !== r.lane || d.laneSequence !== r.laneSeq) {
      v(`event ${e.type} ${d.commandId} ${d.laneKey}#${d.laneSequence} != row ${r.phase} ${r.commandId} ${r.lane}#${r.laneSeq}`, r);
    }
    if (r.phase === "replayed" && d.replayed !== true) v("a replay row published without replayed:true", r);
    if (r.phase === "finished" && d.replayed) v("an original outcome published as replayed", r);
    if (r.phase === "finished" || r.phase === "replayed") {
      const o = r.outcome ?? {};
      for (const f of ["success", "code", "sessionVersion"]) if (!equal(o[f], d[f])) v(`command_finished ${f} ${canon(d[f])} != journal ${canon(o[f])}`, r);
    }
    bySeq.delete(r.seq);
  }
  for (const [seq, e] of bySeq) if (seq >= first && seq <= last) v(`event ${e.type} ${e.data.commandId} at seq ${seq} has no journal row`);
  return out;
}

/**
 * Per connection: accepted < started < finished < response for each command it sent; a replay's
 * command_finished (replayed) precedes its response; exactly one non-replayed command_finished.
 */
export function checkClientOrder(client: number, frames: Array<Record<string, any>>): Violation[] {
  const out: Violation[] = [];
  const seen = new Map<string, string[]>();
  const rank: Record<string, number> = { command_accepted: 1, command_started: 2, command_finished: 3 };
  for (const f of frames) {
    if (f.type in rank && !f.data?.replayed) {
      const id = f.data.commandId as string;
      const l = seen.get(id) ?? [];
      const lastRank = l.length > 0 ? rank[l[l.length - 1]!]! : 0;
      if (l.includes(f.type)) out.push({ invariant: "one_finished_per_admitted", commandId: id, message: `client ${client} received ${f.type} twice` });
      else if (rank[f.type]! <= lastRank) out.push({ invariant: "lifecycle_order", commandId: id, message: `client ${client}: ${f.type} after ${l.join(", ")}` });
      l.push(f.type);
      seen.set(id, l);
    } else if (f.type === "response" && typeof f.id === "string" && !f.replayed) {
      const l = seen.get(f.id);
      // a refusal before admission has no events; an admitted command ends with command_finished
      if (l && l.length > 0 && l[l.length - 1] !== "command_finished" && f.code !== "replay_conflict" && f.code !== "journal_unavailable") {
        out.push({ invariant: "lifecycle_order", commandId: f.id, message: `client ${client}: response before command_finished (saw ${l.join(", ")})` });
      }
      if (l && f.code !== "replay_conflict" && f.code !== "dependency_cycle") seen.delete(f.id);
    }
  }
  return out;
}

/**
 * One connection's frames are admitted in the order it sent them: along each client's sends
 * (only ids sent once, so the accepted row is that frame's), accepted rows have increasing `seq`.
 */
export function checkSendOrder(model: ReferenceModel, results: SendResult[]): Violation[] {
  const out: Violation[] = [];
  const last = new Map<number, { seq: number; id: string }>();
  for (const { send } of results) {
    const id = send.env.id;
    const c = model.commands.get(id);
    if (!c || model.sendsFor(id).length !== 1 || !matchesAccepted(send, c)) continue;
    const prev = last.get(send.client);
    if (prev && prev.seq > c.acceptedSeq) out.push({ invariant: "admission_order", commandId: id, seq: c.acceptedSeq, message: `client ${send.client} sent it after ${prev.id}, but it was admitted first (seq ${c.acceptedSeq} < ${prev.seq})` });
    last.set(send.client, { seq: c.acceptedSeq, id });
  }
  return out;
}

const RESUMED_EVENT: Record<string, string> = { ...PHASE_EVENT, requeued: "command_requeued" };

/**
 * `subscribe {scope:"all", fromSeq}`: the resumed stream starts right after the subscribe
 * response (the response comes first, then the replay): from there the connection hears every
 * journal row after `fromSeq` (restart-recovery `requeued` rows included) exactly once, in `seq`
 * order, with one `subscription_live` marking the switch to live delivery. `rows` are the journal
 * rows after `fromSeq` the stream must cover; `frames` the connection's frames.
 */
export function checkResumedStream(rows: Row[], frames: Array<Record<string, any>>, subscribeId: string): Violation[] {
  const out: Violation[] = [];
  const v = (message: string, r?: Row): void => void out.push({ invariant: "resumed_stream", message, seq: r?.seq, commandId: r?.commandId });
  const at = frames.findIndex((f) => f.type === "response" && f.id === subscribeId);
  if (at < 0) return [{ invariant: "resumed_stream", message: `no response to ${subscribeId}` }];
  const after = frames.slice(at + 1);
  const live = after.filter((f) => f.type === "subscription_live");
  if (live.length !== 1) v(`${live.length} subscription_live frames after the subscribe response`);
  const last = rows.length > 0 ? rows[rows.length - 1]!.seq : 0;
  const events = after.filter((f) => typeof f.data?.seq === "number" && f.data.seq <= last);
  rows.forEach((r, i) => {
    const e = events[i];
    if (!e) return v(`row ${r.phase} ${r.commandId} has no event in the resumed stream`, r);
    if (e.data.seq !== r.seq || e.type !== RESUMED_EVENT[r.phase] || e.data.commandId !== r.commandId) v(`event #${i} ${e.type} ${e.data.commandId} seq ${e.data.seq} != row ${r.phase} ${r.commandId} seq ${r.seq}`, r);
  });
  if (events.length > rows.length) v(`${events.length - rows.length} events beyond the journal rows (duplicates)`);
  const markAt = after.indexOf(live[0]!);
  const through = live[0]?.data?.replayedThroughSeq as number | undefined;
  if (through !== undefined && after.some((f, i) => typeof f.data?.seq === "number" && (i < markAt ? f.data.seq > through : f.data.seq <= through))) v(`subscription_live (replayedThroughSeq ${through}) is not between the replay and the live events`);
  return out;
}
