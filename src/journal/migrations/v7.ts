/**
 * Migration 7: the derived tables may lag the journal (issue #17, journal/projection.ts). The
 * `commands`, `idempotency`, `sessions`, `session_states` and `lanes` rows of the journal rows after
 * `meta.materialized_seq` may not be written yet (a process killed between a commit and the next
 * flush); the next open catches them up from the journal. Nothing in the schema changes: the
 * version is raised so that a causeway without the catch-up (schema 6 and before) refuses such a
 * file (`schema_too_new`) instead of serving the lagging tables as complete.
 */
import type { Migration } from "./migration.js";

export const V7: Migration = {
  version: 7,
  description:
    "projection watermark: meta.materialized_seq (when present) is the last journal seq the derived tables hold; the rows after it are materialized again from the journal at open (no table changes; older versions must not open a file that may lag)",
  up() {},
};
