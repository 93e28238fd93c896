/**
 * What the old-journal fixture scripts share (make-v1-fixture.mjs, make-v5-fixture.mjs): the
 * builder from dist/ (src/journal/migrations/old-journal.ts), the output path (removed first, with
 * its -wal / -shm / -journal files), and the sealing of the written file (VACUUM, one file).
 */
import { existsSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

const builderModule = join(root, "dist/journal/migrations/old-journal.js");
if (!existsSync(builderModule)) {
  console.error(`missing ${builderModule}: run \`npm run build\` first`);
  process.exit(1);
}
/** writeOldJournal(path, version, batches) */
export const { writeOldJournal } = await import(builderModule);

/** The output file (argv[2], else fixtures/<name>), cleared. */
export function outPath(name) {
  const out = resolve(process.argv[2] ?? join(root, "fixtures", name));
  for (const f of [out, `${out}-wal`, `${out}-shm`, `${out}-journal`]) rmSync(f, { force: true });
  return out;
}

/** VACUUM `out` into one self-contained file and print its schema version and row counts. */
export function seal(out, tables) {
  const db = new Database(out);
  db.exec("VACUUM");
  const version = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get();
  const counts = Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT count(*) AS n FROM ${t}`).get().n]));
  db.close();
  for (const f of [`${out}-wal`, `${out}-shm`]) rmSync(f, { force: true });
  console.log(`wrote ${out} (schema_version ${version.value})`, counts);
}
