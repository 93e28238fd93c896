import type { Migration } from "./migration.js";

/**
 * v3: history queries. Every filter of `get_command_history` is served by an index whose
 * last column is accepted_seq, so a page is one index range read in cursor order (no sort).
 * commands_status holds finished commands only (unfinished ones are in commands_unfinished, v2), so
 * it is written once per command, and restart recovery keeps reading commands_unfinished.
 * Time windows are translated to accepted_seq ranges through commands_accepted_at; the
 * clock_regressions table records the rare commands whose accepted_at went backwards (the store
 * adds them when it materializes an accepted record; a trigger measured ~30% slower commits), so
 * that translation can tell when it is exact. command_dependencies answers "who depends on X".
 * journal_replay_of finds replays recorded under another id (idempotencyKey).
 */
const V3_SQL = `
CREATE INDEX commands_accepted    ON commands(accepted_seq);
CREATE INDEX commands_accepted_at ON commands(accepted_at, accepted_seq);
CREATE INDEX commands_type        ON commands(type, accepted_seq);
CREATE INDEX commands_status      ON commands(status, accepted_seq) WHERE status NOT IN ('queued','running');
CREATE INDEX commands_actor       ON commands(actor, accepted_seq);
CREATE INDEX commands_lane        ON commands(lane, accepted_seq);

CREATE TABLE command_dependencies (
  command_id   TEXT    NOT NULL,
  depends_on   TEXT    NOT NULL,
  accepted_seq INTEGER NOT NULL,
  PRIMARY KEY (depends_on, accepted_seq)
) WITHOUT ROWID;

INSERT OR IGNORE INTO command_dependencies (command_id, depends_on, accepted_seq)
SELECT c.command_id, d.value, c.accepted_seq
FROM commands c, json_each(c.depends_on) d
WHERE c.depends_on IS NOT NULL AND d.type = 'text';

CREATE TABLE clock_regressions (
  accepted_seq INTEGER PRIMARY KEY,
  accepted_at  INTEGER NOT NULL,
  previous_max INTEGER NOT NULL
);

INSERT INTO clock_regressions (accepted_seq, accepted_at, previous_max)
SELECT accepted_seq, accepted_at, previous_max FROM (
  SELECT accepted_seq, accepted_at,
         max(accepted_at) OVER (ORDER BY accepted_seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous_max
  FROM commands
) WHERE accepted_at < previous_max;

CREATE INDEX journal_replay_of ON journal(json_extract(detail, '$.replayOf')) WHERE phase = 'replayed';
`;

export const V3: Migration = {
  version: 3,
  description:
    "history indexes on commands (accepted_seq, accepted_at, type, status, actor, lane), command_dependencies and clock_regressions (both backfilled), journal_replay_of",
  up(db) {
    db.exec(V3_SQL);
  },
};
