/** Migration 2: recovery and audit indexes, and the audit views. */
import type { Migration } from "./migration.js";

/** epoch milliseconds -> ISO-8601 UTC text, usable in views */
const iso = (col: string): string => `strftime('%Y-%m-%dT%H:%M:%fZ', ${col} / 1000.0, 'unixepoch')`;
/** "now" in epoch ms, portable to old sqlite3 shells (no unixepoch('subsec')) */
const NOW_MS = `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`;

export const V2_SQL = `
CREATE INDEX commands_unfinished ON commands(accepted_seq) WHERE status IN ('queued','running');
CREATE INDEX commands_session ON commands(session_id, accepted_seq);
CREATE INDEX journal_command ON journal(command_id);

CREATE VIEW v_command_outcomes AS
SELECT
  c.command_id,
  c.type,
  c.session_id,
  c.actor,
  c.lane,
  c.status,
  json_extract(c.outcome, '$.success')        AS success,
  json_extract(c.outcome, '$.code')           AS code,
  json_extract(c.outcome, '$.error')          AS error,
  json_extract(c.outcome, '$.sessionVersion') AS session_version,
  c.idempotency_key,
  c.accepted_seq,
  c.accepted_at,
  ${iso("c.accepted_at")}                     AS accepted_at_iso,
  c.started_at,
  c.finished_seq,
  c.finished_at,
  ${iso("c.finished_at")}                     AS finished_at_iso,
  c.finished_at - c.accepted_at               AS duration_ms
FROM commands c;

CREATE VIEW v_unfinished AS
SELECT
  c.command_id,
  c.type,
  c.session_id,
  c.lane,
  c.status,
  c.depends_on,
  c.if_session_version,
  c.idempotency_key,
  c.timeout_ms,
  c.accepted_seq,
  c.accepted_at,
  ${iso("c.accepted_at")} AS accepted_at_iso,
  c.started_at
FROM commands c
WHERE c.status IN ('queued','running')
ORDER BY c.accepted_seq;

CREATE VIEW v_lane_heads AS
SELECT
  l.lane,
  l.last_lane_seq,
  l.updated_at,
  ${iso("l.updated_at")} AS updated_at_iso,
  (SELECT count(*) FROM commands c
     WHERE c.lane = l.lane AND c.status IN ('queued','running')) AS unfinished
FROM lanes l;

CREATE VIEW v_live_idempotency_keys AS
SELECT
  i.scope,
  i.key,
  i.command_id,
  i.fingerprint,
  c.status,
  i.expires_at,
  ${iso("i.expires_at")} AS expires_at_iso,
  i.expires_at IS NULL   AS in_flight
FROM idempotency i
LEFT JOIN commands c ON c.command_id = i.command_id
WHERE i.expires_at IS NULL OR i.expires_at > ${NOW_MS};

CREATE VIEW v_session_versions AS
SELECT
  s.session_id,
  s.version,
  s.deleted_at IS NOT NULL AS deleted,
  s.created_at,
  ${iso("s.created_at")}   AS created_at_iso,
  s.updated_at,
  ${iso("s.updated_at")}   AS updated_at_iso,
  s.deleted_at,
  ${iso("s.deleted_at")}   AS deleted_at_iso,
  length(s.state)          AS state_bytes,
  (SELECT count(*) FROM commands c WHERE c.session_id = s.session_id) AS commands
FROM sessions s;
`;

export const V2: Migration = {
  version: 2,
  description:
    "recovery and audit indexes (commands_unfinished, commands_session, journal_command) and audit views",
  up(db) {
    db.exec(V2_SQL);
  },
};
