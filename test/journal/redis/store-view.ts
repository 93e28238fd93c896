/**
 * Everything a reader sees of a journal, for comparing a Redis store with a SQLite one (#18
 * retention): the tables (helpers.ts dumpTables, plus the rows hanging off the commands that are
 * still there (an id accepted again is another command): tags, decisions, dependencies, clock
 * regressions — rows of removed commands stay in
 * a compacted SQLite journal but are not carried into a rebuilt projection), the latest checkpoint,
 * the reads of the Store contract.
 */
import type { SqliteStore } from "../../../src/journal/sqlite-store.js";
import type { Store } from "../../../src/journal/types.js";
import { dumpTables } from "../helpers.js";

type Db = ReturnType<SqliteStore["database"]>;

const KEPT: Record<string, string> = {
  command_tags: "SELECT t.* FROM command_tags t JOIN commands c USING (command_id, accepted_seq) ORDER BY t.tag, t.accepted_seq",
  decisions: "SELECT d.* FROM decisions d JOIN commands c USING (command_id) WHERE d.seq >= c.accepted_seq ORDER BY d.seq",
  command_dependencies: "SELECT d.* FROM command_dependencies d JOIN commands c USING (command_id, accepted_seq) ORDER BY d.depends_on, d.accepted_seq",
  clock_regressions: "SELECT r.* FROM clock_regressions r JOIN commands c ON c.accepted_seq = r.accepted_seq ORDER BY r.accepted_seq",
};

export function storeView(s: Store, db: Db, ids: string[], at: number, keys: Array<[scope: string, key: string]> = []) {
  return {
    tables: dumpTables(db),
    kept: Object.fromEntries(Object.entries(KEPT).map(([t, sql]) => [t, db.prepare(sql).all()])),
    checkpoint: db.prepare("SELECT seq, sessions, lanes FROM checkpoints ORDER BY seq DESC LIMIT 1").get() ?? null,
    firstRetainedSeq: s.firstRetainedSeq(),
    journal: s.readJournal({ limit: 10_000 }),
    commands: ids.map((id) => s.getCommand(id) ?? null),
    idempotency: keys.map(([scope, key]) => s.getIdempotency(scope, key, at) ?? null),
    history: s.history({ order: "oldest", limit: 1000 }),
  };
}
