/**
 * Differential check of what clients heard: every frame sent gets exactly one response, and each
 * response is one of the journal rows the model has already judged: the admitted command's own
 * outcome, a replay of a stored outcome (byte-identical to the original response plus
 * `"replayed":true`), a `replay_conflict`, or a refusal before admission (a frame with
 * `ifSessionVersion` on a command that cannot use it gets `invalid_command`, whatever its id).
 */
import { canon, equal } from "./json.js";
import { identityOf, matchesAccepted, type ReferenceModel } from "./model.js";
import { ifSessionVersionRefused } from "./rules.js";
import type { Received, Row, Send, Violation } from "./types.js";

export interface SendResult {
  send: Send;
  response?: Received;
}

export interface ResponseCheckOptions {
  journalFaults?: boolean;
  /** the server was killed: some frames legitimately got no response */
  crashes?: boolean;
  /** the results cover only some of the frames sent with these ids (retries): rows without a
   *  response here are not missing */
  partial?: boolean;
  /** frames sent over a connection that was dropped: their responses may be lost */
  lossy?: Set<Send>;
}

const strip = (f: Record<string, any>): Record<string, unknown> => {
  const { type: _t, id: _i, replayed: _r, ...rest } = f;
  return rest;
};

export function checkResponses(model: ReferenceModel, results: SendResult[], opts: ResponseCheckOptions = {}): Violation[] {
  const out: Violation[] = [];
  const v = (invariant: string, commandId: string, message: string): void => void out.push({ invariant, commandId, message });
  const byId = new Map<string, SendResult[]>();
  for (const r of repair(model, results)) {
    const l = byId.get(r.send.env.id);
    if (l) l.push(r);
    else byId.set(r.send.env.id, [r]);
  }
  // pass 1: the response to each admitted execution (needed for byte-identical replays)
  const executionRaw = new Map<string, string>();
  const used = new Set<string>();
  const executions = new Set<Received>();
  const replaysLeft = new Map<string, Row[]>();
  const conflictsLeft = new Map<string, Row[]>();
  for (const [id, group] of byId) {
    replaysLeft.set(id, [...(model.replays.get(id) ?? [])]);
    conflictsLeft.set(id, [...(model.conflicts.get(id) ?? [])]);
    const cmd = model.commands.get(id);
    for (const { send, response } of group) {
      const f = response?.frame;
      if (!f) {
        if (!opts.crashes && !opts.lossy?.has(send)) v("one_response_per_send", id, `client ${send.client} frame #${send.index} got no response`);
        continue;
      }
      if (f.type !== "response" || f.id !== id) v("response_drift", id, `response carries id ${f.id}`);
      if (ifSessionVersionRefused(send.env)) {
        // rule 4: refused at admission, before its id or key is looked up
        if (f.success !== false || f.code !== "invalid_command" || f.replayed !== undefined || f.command !== send.env.type || f.sessionVersion !== undefined) {
          v("if_session_version_refused", id, `${send.env.type} with ifSessionVersion answered ${canon(strip(f))}${f.replayed ? " (replayed)" : ""}, not an invalid_command refusal`);
        }
        continue;
      }
      if (f.replayed === true || f.code === "replay_conflict" || f.code === "dependency_cycle") continue;
      if (f.code === "journal_unavailable" && opts.journalFaults) {
        // given: nothing of it may have been acknowledged; a durable admission got a repair row
        if (cmd?.finished && cmd.finished.outcome.code === "journal_unavailable" && !used.has(id) && matchesAccepted(send, cmd)) used.add(id);
        continue;
      }
      if (!cmd) {
        v("response_drift", id, `answered ${canon(strip(f))} but never admitted (no accepted row)`);
        continue;
      }
      if (used.has(id)) {
        v("same_id_same_outcome", id, `a second non-replayed response for one admitted id: ${canon(strip(f))}`);
        continue;
      }
      if (!matchesAccepted(send, cmd)) {
        v("admitted_as_sent", id, `executed with a payload other than the one this client sent`);
        continue;
      }
      if (!cmd.finished) {
        v("persist_before_publish", id, "answered, but its outcome is not in the journal");
        continue;
      }
      used.add(id);
      executions.add(response!);
      executionRaw.set(id, response!.raw);
      if (!equal(strip(f), cmd.finished.outcome)) v("response_drift", id, `response ${canon(strip(f))} != journaled outcome ${canon(cmd.finished.outcome)}`);
    }
  }
  // pass 2: replays, conflicts, refusals
  for (const [id, group] of byId) {
    for (const { send, response } of group) {
      const f = response?.frame;
      if (!f || ifSessionVersionRefused(send.env)) continue;
      if (f.replayed === true) {
        const rows = replaysLeft.get(id)!;
        const i = rows.findIndex((r) => equal(r.outcome, strip(f)));
        if (i < 0) {
          v("same_id_same_outcome", id, `replayed response ${canon(strip(f))} matches no replayed journal row`);
          continue;
        }
        const row = rows.splice(i, 1)[0]!;
        const of = row.detail?.replayOf as string;
        const original = model.commands.get(of);
        if (original && identityOf(send.env) !== original.identity) v("replay_conflict_on_different_payload", id, `a frame with a different payload than ${of} was answered with its stored outcome: sent ${canon(send.env)} (client ${send.client}), replay row seq ${row.seq} ${canon(row.detail)}`);
        const raw0 = executionRaw.get(of);
        if (raw0) {
          const expected = raw0.replace(`"id":${JSON.stringify(of)}`, `"id":${JSON.stringify(id)}`).slice(0, -1) + `,"replayed":true}`;
          if (response!.raw !== expected) v("same_id_same_outcome", id, `replay is not byte-identical to the original response:\n    original ${raw0}\n    replay   ${response!.raw}`);
        }
      } else if (f.code === "replay_conflict") {
        const rows = conflictsLeft.get(id)!;
        if (rows.length === 0) {
          v("replay_consistency", id, "replay_conflict response without a conflict row");
          continue;
        }
        const row = rows.shift()!;
        const original = model.commands.get(row.detail?.conflictWith as string);
        if (original && identityOf(send.env) === original.identity) v("replay_consistency", id, `replay_conflict although the payload equals ${original.id}'s`);
      } else if (f.code === "dependency_cycle") {
        if (!(send.env.dependsOn ?? []).includes(id) && !send.racyDeps) v("dependency_cycle_refused", id, "refused as a cycle although every dependency was admitted before it");
      } else if (executions.has(response!)) {
        continue;
      } else if (f.code === "busy" || f.code === "shutting_down" || f.code === "invalid_command" || f.code === "unknown_command") {
        v("response_drift", id, `unexpected refusal ${f.code}: ${f.error}`);
      }
    }
    if (!opts.crashes && !opts.partial && !group.some((g) => opts.lossy?.has(g.send))) {
      const cmd = model.commands.get(id);
      if (cmd?.finished && !used.has(id)) v("one_response_per_send", id, "admitted and finished, but no client received its outcome");
      if (replaysLeft.get(id)!.length > 0) v("one_response_per_send", id, `${replaysLeft.get(id)!.length} replayed row(s) without a response`);
      if (conflictsLeft.get(id)!.length > 0) v("one_response_per_send", id, `${conflictsLeft.get(id)!.length} conflict row(s) without a response`);
    }
  }
  return out;
}

/**
 * A client that sends one id twice may get the answers in either order (a conflict is answered
 * at once, the execution when it finishes), so within one client and id, pair each response with
 * a frame it can belong to.
 */
function repair(model: ReferenceModel, results: SendResult[]): SendResult[] {
  const groups = new Map<string, SendResult[]>();
  for (const r of results) {
    const k = `${r.send.client}\u0000${r.send.env.id}`;
    const l = groups.get(k);
    if (l) l.push(r);
    else groups.set(k, [r]);
  }
  const out: SendResult[] = [];
  for (const group of groups.values()) {
    if (group.length === 1) {
      out.push(group[0]!);
      continue;
    }
    const cmd = model.commands.get(group[0]!.send.env.id);
    const responses = group.map((g) => g.response).filter((x): x is Received => x !== undefined);
    const free = group.map((g) => g.send);
    const id = group[0]!.send.env.id;
    // a replay or conflict may be by id or by idempotency key: compare with the original it names
    const originals = (rows: Row[] | undefined, field: string): string[] =>
      (rows ?? []).map((r) => model.commands.get(r.detail?.[field] as string)?.identity).filter((x): x is string => x !== undefined);
    const conflictWith = originals(model.conflicts.get(id), "conflictWith");
    const refusal = (f: Record<string, any>): boolean => f.code === "invalid_command" && f.replayed !== true && !(cmd?.finished && equal(strip(f), cmd.finished.outcome));
    const fits = (f: Record<string, any>, s: Send): boolean => {
      if (ifSessionVersionRefused(s.env)) return refusal(f);
      if (refusal(f)) return false;
      if (f.replayed === true) {
        // the originals of the replay rows that answered exactly this
        const same = (model.replays.get(id) ?? []).filter((r) => equal(r.outcome, strip(f)));
        return originals(same, "replayOf").includes(identityOf(s.env));
      }
      // a conflict answers with the refused frame's own type
      if (f.code === "replay_conflict") return s.env.type === f.command && conflictWith.some((o) => o !== identityOf(s.env));
      if (!cmd) return true;
      if (f.code === "dependency_cycle") return (s.env.dependsOn ?? []).includes(s.env.id) || s.racyDeps;
      if (f.code === "journal_unavailable") return true;
      return matchesAccepted(s, cmd);
    };
    // most constrained first: executions, cycle refusals, replays, conflicts, journal failures
    const prio = (f: Record<string, any>): number =>
      refusal(f) ? 1 : f.replayed === true ? 2 : f.code === "replay_conflict" ? 3 : f.code === "dependency_cycle" ? 1 : f.code === "journal_unavailable" ? 4 : 0;
    responses.sort((a, b) => prio(a.frame) - prio(b.frame));
    for (const resp of responses) {
      let i = free.findIndex((s) => fits(resp.frame, s));
      if (i < 0) i = 0;
      out.push({ send: free.splice(i, 1)[0]!, response: resp });
    }
    for (const s of free) out.push({ send: s });
  }
  return out;
}
