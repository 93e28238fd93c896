/**
 * The database files the CLI opens, checked before SQLite sees them, and every expected file
 * problem worded for a person: one line that names the file and says what to do next.
 * Used by audit, export, backup and import (read an existing journal / create a new one) and by
 * serve (may create its journal).
 *
 *  - read commands (audit, export, backup) refuse a --db that does not exist: a typo never
 *    creates an empty journal;
 *  - serve and import create a missing file (and its folder) and report whether they did;
 *  - permissions → "check permissions of X"; a file that is not SQLite, or a database without the
 *    journal tables → "X is not a causeway journal"; SQLite corruption → "X is malformed: restore it
 *    from a `causeway backup` copy".
 */
import { accessSync, constants, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

export const MEMORY_DB = ":memory:";

/** An expected problem with a file: printed as one line (no stack), exit code 1. */
export class FileProblem extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FileProblem";
  }
}

const permissions = (path: string): string => `check permissions of ${path}`;

function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * `err` (from fs or from SQLite while opening or reading `path`) as a one-line message naming the
 * file and the next step; null when it is not a file problem. An fs error names its own file
 * (`err.path`), so a problem with another file (a tokens file, a trace) is never blamed on `path`.
 */
export function describeFileError(err: unknown, path: string): string | null {
  const code = errnoOf(err);
  if (code === undefined) return null;
  const file = typeof (err as { path?: unknown }).path === "string" ? (err as { path: string }).path : path;
  const detail = err instanceof Error ? err.message : String(err);
  if (code === "ENOENT") return `${file} does not exist: check the path`;
  if (code === "EACCES" || code === "EPERM") return `permission denied on ${file}: ${permissions(file)}`;
  if (code === "EISDIR") return `${file} is a directory, not a file: check the path`;
  if (code === "EROFS") return `${file} is on a read-only file system: ${permissions(file)}`;
  if (!code.startsWith("SQLITE_")) return null;
  if (code === "SQLITE_NOTADB") return `${path} is not a causeway journal: it is not an SQLite database (${detail}); check --db`;
  if (code.startsWith("SQLITE_CORRUPT")) return `${path} is malformed (${detail}): restore it from a \`causeway backup\` copy`;
  if (code.startsWith("SQLITE_CANTOPEN")) return `cannot open ${path} (${detail}): ${permissions(path)} and of its folder`;
  if (code.startsWith("SQLITE_READONLY") || code.startsWith("SQLITE_PERM") || code.startsWith("SQLITE_AUTH")) {
    return `cannot write ${path} (${detail}): ${permissions(path)} and of its folder`;
  }
  return null;
}

function statOrProblem(path: string): import("node:fs").Stats | null {
  try {
    return statSync(path);
  } catch (err) {
    if (errnoOf(err) === "ENOENT") return null;
    throw new FileProblem(describeFileError(err, path) ?? `cannot read ${path}: ${String(err)}`);
  }
}

function requireAccess(path: string, mode: number, what: string): void {
  try {
    accessSync(path, mode);
  } catch {
    throw new FileProblem(`cannot ${what} ${path}: ${permissions(path)}`);
  }
}

/**
 * A journal that `command` (audit, export, backup) only reads: it must exist, be a file and be
 * readable. Never creates anything.
 */
export function requireJournalFile(path: string, command: string): void {
  if (path === MEMORY_DB) throw new FileProblem(`${command} needs a database file (--db PATH), not ${MEMORY_DB}`);
  const st = statOrProblem(path);
  if (st === null) {
    throw new FileProblem(`database ${path} does not exist: check --db (${command} never creates one; \`causeway serve --db ${path}\` starts a new journal)`);
  }
  if (!st.isFile()) throw new FileProblem(`${path} is not a file: check --db`);
  requireAccess(path, constants.R_OK, "read");
}

/** A file a command reads (a trace, a command module): it must exist and be readable. */
export function requireReadableFile(path: string, what: string): void {
  const st = statOrProblem(path);
  if (st === null) throw new FileProblem(`${what} ${path} does not exist: check the path`);
  if (!st.isFile()) throw new FileProblem(`${what} ${path} is not a file: check the path`);
  requireAccess(path, constants.R_OK, "read");
}

/**
 * A journal that serve or import may create. An existing file must be a readable and writable
 * file; a new one needs its nearest existing folder to be writable (the folders in between are
 * created). Returns whether the file exists now (false: it will be created).
 */
export function prepareWritableJournal(path: string): { exists: boolean } {
  if (path === MEMORY_DB) return { exists: false };
  const st = statOrProblem(path);
  if (st !== null) {
    if (!st.isFile()) throw new FileProblem(`${path} is not a file: check --db`);
    requireAccess(path, constants.R_OK | constants.W_OK, "read and write");
    return { exists: true };
  }
  let dir = dirname(resolve(path));
  for (;;) {
    const d = statOrProblem(dir);
    if (d !== null) {
      if (!d.isDirectory()) throw new FileProblem(`cannot create ${path}: ${dir} is not a folder; check --db`);
      try {
        accessSync(dir, constants.W_OK | constants.X_OK);
      } catch {
        throw new FileProblem(`cannot create ${path}: ${permissions(dir)}`);
      }
      return { exists: false };
    }
    const up = dirname(dir);
    if (up === dir) return { exists: false };
    dir = up;
  }
}

/** The message of any error: a file problem described, anything else its own message. */
export function errorMessage(err: unknown, path?: string): string {
  if (err instanceof FileProblem) return err.message;
  if (path !== undefined) {
    const described = describeFileError(err, path);
    if (described !== null) return described;
  }
  return err instanceof Error ? err.message : String(err);
}
