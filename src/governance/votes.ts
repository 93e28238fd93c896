/**
 * Separation of duties for one approval vote (pure):
 *  - the requester may not approve unless every matching rule allows it (`allowRequester`);
 *  - one approval per actor per command (across all steps);
 *  - the approver must hold a role of the open step;
 *  - when a step's quorum is met the next step opens; the last step's quorum approves the command.
 */
import type { GovernanceState } from "../lifecycle/status.js";

export type VoteResult =
  | { ok: true; next: GovernanceState; approved: boolean; stepClosed: boolean }
  | { ok: false; why: string };

export function castVote(gov: GovernanceState, requester: string, actor: string, roles: readonly string[], at: number, revision: number, comment?: string): VoteResult {
  if (actor === requester && !gov.allowRequester) return { ok: false, why: `${actor} requested this command and may not approve it` };
  if (gov.approvals.some((a) => a.actor === actor)) return { ok: false, why: `${actor} has already approved this command` };
  const step = gov.steps[gov.step];
  if (!step) return { ok: false, why: "no approval step is open" };
  if (!step.approverRoles.some((r) => roles.includes(r))) {
    return { ok: false, why: `step "${step.name}" needs an approver with role ${step.approverRoles.join(" or ")}` };
  }
  const vote = { actor, at, step: gov.step, revision, ...(comment !== undefined ? { comment } : {}) };
  const approvals = [...gov.approvals, vote];
  const inStep = approvals.filter((a) => a.step === gov.step).length;
  const stepClosed = inStep >= step.approvals;
  const nextStep = stepClosed ? gov.step + 1 : gov.step;
  return { ok: true, next: { ...gov, approvals, step: nextStep }, approved: stepClosed && nextStep >= gov.steps.length, stepClosed };
}
