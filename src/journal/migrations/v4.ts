/** Migration 4: retention (checkpoints, journal deletes only during compaction). */
import type { Migration } from "./migration.js";

/**
 * Schema for compaction: the checkpoints table, and the
 * append-only delete trigger relaxed for compaction only (ad-hoc deletes are still refused).
 */
export const RETENTION_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS checkpoints (
  seq        INTEGER PRIMARY KEY,
  created_at INTEGER NOT NULL,
  sessions   TEXT    NOT NULL,
  lanes      TEXT    NOT NULL
);
DROP TRIGGER IF EXISTS journal_append_only_delete;
CREATE TRIGGER journal_append_only_delete BEFORE DELETE ON journal
WHEN NOT EXISTS (SELECT 1 FROM meta WHERE key = 'compaction_in_progress')
BEGIN
  SELECT RAISE(ABORT, 'journal is append-only: rows are only removed by compaction');
END;
`;

export const V4: Migration = {
  version: 4,
  description: "retention: checkpoints table, journal deletes allowed only during compaction, command_dependencies(command_id) index",
  up(db) {
    db.exec(RETENTION_SCHEMA_SQL);
    db.exec("CREATE INDEX IF NOT EXISTS command_dependencies_command ON command_dependencies(command_id);");
  },
};
