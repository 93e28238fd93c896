/** The replay audit: invariant checks and deterministic re-execution over a journal. */
export { AuditOpenError, openAuditDatabase } from "../journal/sqlite-audit-reads.js";
export { formatReport } from "./report.js";
export { runAudit, runAuditSync } from "./run.js";
export {
  INVARIANTS,
  INVARIANT_DESCRIPTIONS,
  STORE_INVARIANTS,
  STORE_INVARIANT_DESCRIPTIONS,
  type AuditOptions,
  type AuditReport,
  type InvariantName,
  type ReplayInvariantName,
  type StoreCheck,
  type StoreFinding,
  type StoreInvariantName,
  type Violation,
} from "./types.js";
