/**
 * Read-only queries over the materialized tables and the journal: the SQL of
 * `get_command_history` (pages of commands, and the journal entries of a page) and `get_command`
 * (one command's details). src/operator/history.ts only validates input and shapes responses.
 *
 *  - queries/types.ts:   the shapes they return (no SQL);
 *  - queries/history.ts: history pages (one index range read each; see there);
 *  - queries/entries.ts: the journal rows of a page's commands (pi-server's `entries`);
 *  - queries/cursor.ts:  opaque, filter-bound cursors;
 *  - queries/detail.ts:  `get_command`: row, envelope, outcome, trace, dependencies, governance.
 *
 * Prepared statements are cached per connection (queries/statements.ts).
 */
export * from "./queries/types.js";
export * from "./queries/history.js";
export * from "./queries/cursor.js";
export * from "./queries/detail.js";
export * from "./queries/entries.js";
