/**
 * Executable documentation (issue #19): every example in README.md, PROTOCOL.md and docs/*.md
 * that shows input and output runs here against a real server, and what it prints must be what
 * the doc shows. The convention, in short (docs/examples.md has the full text):
 *
 * - The line just before a fenced block says what it is: `<!-- example: cli -->` (a shell
 *   transcript), `<!-- example: ws -->` (frames over one WebSocket), `<!-- example: server -->`
 *   (`npm start [-- ARGS]` / `npx causeway serve ARGS`: start or restart the session's server),
 *   `<!-- example: file NAME -->` (write the block to NAME), or `<!-- example: not-run (why) -->`.
 *   `session=NAME` makes blocks of one file share a work dir, shell and servers, in doc order;
 *   `no-server` keeps a cli / ws block from starting the default server (`npm start`).
 * - cli: lines are commands; `#> ` lines are what the command before printed (stdout + stderr);
 *   other `#` lines are comments; a command exits 0 unless its trailing comment says `exit N`.
 * - ws: `> ` lines are sent, `< ` lines are the frames received, in order.
 * - Compared after normalising times, UUIDs, hex digests, durations, ports and the work dir; JSON
 *   lines structurally (key order and spacing do not matter); `…` elides (see harness/pattern.ts).
 * - A block that looks like an example (a shell block, prompt / output lines, protocol frames) but
 *   has no annotation fails the first test, so new examples cannot dodge this file.
 *
 * UPDATE_DOC_EXAMPLES=1 rewrites the output lines of drifted steps in place (check the diff).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/spawn.js";
import { looksLikeExample, scanMarkdown, type Block } from "./harness/markdown.js";
import { runSession, where, type BlockResult } from "./harness/run.js";
import { UPDATE, writeEdits } from "./harness/update.js";

const FILES = ["README.md", "PROTOCOL.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
const blocks = FILES.flatMap((f) => scanMarkdown(f, readFileSync(join(ROOT, f), "utf8")));

const keyOf = (b: Block): string => `${b.file} › ${b.heading}`;

const SESSION_SLOTS = 3;
let free = SESSION_SLOTS;
const queue: Array<() => void> = [];
const slot = async (): Promise<() => void> => {
  if (free > 0) free--;
  else await new Promise<void>((r) => queue.push(r));
  return () => {
    const next = queue.shift();
    if (next) next();
    else free++;
  };
};

describe("#19 executable docs: annotations", () => {
  it("#19 every block that looks like an input/output example in README.md, PROTOCOL.md and docs/ is annotated", () => {
    const missing = blocks.filter((b) => !b.annotation && !b.annotationError && looksLikeExample(b)).map((b) => `${where(b)} (${b.heading})`);
    expect(missing, "add <!-- example: … --> on the line before each (docs/examples.md)").toEqual([]);
  });

  it("#19 every annotation parses; not-run says why", () => {
    expect(blocks.filter((b) => b.annotationError).map((b) => `${where(b)}: ${b.annotationError}`)).toEqual([]);
    expect(blocks.filter((b) => b.annotation?.kind === "not-run" && !b.annotation.arg).map(where)).toEqual([]);
  });
});

const runnable = blocks.filter((b) => b.annotation && b.annotation.kind !== "not-run");
const sessions = new Map<string, Block[]>();
for (const b of runnable) {
  const key = b.annotation!.session ? `${b.file}#${b.annotation!.session}` : where(b);
  sessions.set(key, [...(sessions.get(key) ?? []), b]);
}
const results = new Map<Block, Promise<BlockResult>>();
const closed: Array<Promise<void>> = [];

describe("#19 executable docs: every example runs and prints what the doc shows", () => {
  beforeAll(() => {
    for (const group of sessions.values()) {
      const run = runSession(group, slot);
      run.results.forEach((p, i) => results.set(group[i]!, p));
      closed.push(run.closed);
    }
  });

  afterAll(async () => {
    await Promise.all(closed);
    if (UPDATE) {
      const changed = writeEdits(ROOT);
      if (changed.length > 0) console.log(`UPDATE_DOC_EXAMPLES: rewrote drifted output in ${changed.join(", ")}`);
    }
  });

  for (const b of runnable) {
    const name = `#19 ${keyOf(b)} › line ${b.line} (${b.annotation!.kind}${b.annotation!.session ? ` session=${b.annotation!.session}` : ""})`;
    const body = async (): Promise<void> => {
      const r = await results.get(b)!;
      if (r.failures.length > 0) throw new Error(r.failures.join("\n\n"));
    };
    it(name, body);
  }
});

describe("#19 tour", () => {
  it("#19 tour: npx causeway runs this checkout's bin without downloading anything (the tour's client after npm ci)", () => {
    // npm links (and chmods) the project's bin when npx first installs it into its cache; a cache made
    // before a rebuild keeps pointing at the rebuilt file, so the build itself must leave it executable
    expect(statSync(join(ROOT, "dist/cli/main.js")).mode & 0o111).toBe(0o111);
    // a fresh npm cache, as on a new machine: this machine's npx cache must not decide the result
    const cache = mkdtempSync(join(tmpdir(), "causeway-npx-cache-"));
    try {
      const out = execFileSync("npx", ["--no-install", "causeway", "--version"], { cwd: ROOT, encoding: "utf8", env: { ...process.env, npm_config_cache: cache } });
      const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
      expect(out.trim()).toBe(pkg.version);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it("#19 tour: README's Try it shows a replay, a version conflict, a dependsOn wait and a pending approval, with output", () => {
    const tour = runnable.filter((b) => b.file === "README.md" && b.annotation!.session === "tour" && b.annotation!.kind === "cli");
    const text = tour.flatMap((b) => b.body).join("\n");
    expect(text).toMatch(/^#> .*"replayed":true/m);
    expect(text).toMatch(/^#> .*"code":"version_conflict"/m);
    expect(text).toMatch(/"dependsOn":\[/);
    expect(text).toMatch(/^#> .*waiting on /m);
    expect(text).toMatch(/^#> .*"command":"approve_command","success":true/m);
  });
});
