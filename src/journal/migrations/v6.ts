/**
 * Migration 6: writes cost what they change (issue #17). A session's state moves out of the
 * `sessions` row (which every write updates) into `session_states`, a checkpoint written only when a
 * session is created and when a write is journaled whole (a snapshot); the writes in between are
 * `patch` effects in the journal, which restart applies after the checkpoint. Existing states
 * become checkpoints at the session's current version and its lane's current head.
 */
import type { Migration } from "./migration.js";
import { V2_SQL } from "./v2.js";

/** v_session_versions as v2 defined it, `state_bytes` now the size of the last whole state (the checkpoint). */
function v6SessionVersions(): string {
  const view = V2_SQL.slice(V2_SQL.indexOf("CREATE VIEW v_session_versions"));
  const next = view.replace("length(s.state)          AS state_bytes", "(SELECT length(st.state) FROM session_states st WHERE st.session_id = s.session_id) AS state_bytes");
  if (next === view) throw new Error("migration 6: v_session_versions has an unexpected definition");
  return next;
}

const v6Sql = (): string => `
CREATE TABLE session_states (
  session_id TEXT    PRIMARY KEY,
  version    INTEGER NOT NULL,
  lane_seq   INTEGER NOT NULL,
  state      TEXT    NOT NULL
);
INSERT INTO session_states (session_id, version, lane_seq, state)
  SELECT s.session_id, s.version, coalesce((SELECT l.last_lane_seq FROM lanes l WHERE l.lane = 'session:' || s.session_id), 0), s.state
  FROM sessions s WHERE s.deleted_at IS NULL;
DROP VIEW v_session_versions;
ALTER TABLE sessions DROP COLUMN state;
${v6SessionVersions()}
`;

export const V6: Migration = {
  version: 6,
  description:
    "session state checkpoints: table session_states (session_id, version, lane_seq, state) written at create and at snapshot writes; sessions.state dropped (a write journaled as a patch updates only the sessions row's version); v_session_versions.state_bytes from session_states",
  up(db) {
    db.exec(v6Sql());
  },
};
