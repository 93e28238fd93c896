#!/usr/bin/env node
/**
 * Builds fixtures/journal-v5.db: a schema-version-5 journal (the last schema before issue #17's
 * session checkpoints) holding the governed trace fixtures/traces/governed.jsonl, recorded by a
 * v5 server: a session written by whole-state `write` effects, governed commands with approvals,
 * revisions and decisions. The frozen migrations 1..5 create the schema and the rows are what
 * SqliteStore materializes for those records (src/journal/migrations/old-journal.ts), with each
 * session's whole state in its `sessions` row as v5 kept it. test/journal/migration-v6.test.ts
 * migrates a copy to the latest schema and replays it to the same states.
 *
 *   npm run build && node scripts/make-v5-fixture.mjs [out.db]
 *
 * Re-running the script rebuilds the same content.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { outPath, root, seal, writeOldJournal } from "./old-journal-fixture.mjs";

const out = outPath("journal-v5.db");
const lines = readFileSync(join(root, "fixtures/traces/governed.jsonl"), "utf8").trim().split("\n");
const written = writeOldJournal(out, 5, [lines.slice(1).map((l) => JSON.parse(l))]);
if (written !== 5) throw new Error(`expected schema 5, got ${written}`);
seal(out, ["journal", "commands", "sessions", "lanes"]);
