/** The replay audit: invariant checks and deterministic re-execution over a journal. */
export { AuditOpenError, openAuditDatabase } from "../journal/sqlite-audit-reads.js";
export { formatReport } from "./report.js";
export { runAudit, runAuditSync } from "./run.js";
export { INVARIANTS, INVARIANT_DESCRIPTIONS, type AuditOptions, type AuditReport, type InvariantName, type Violation } from "./types.js";
