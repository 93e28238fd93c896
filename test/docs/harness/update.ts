/**
 * UPDATE_DOC_EXAMPLES=1: rewrite the output lines of the steps that drifted, in place. Steps that
 * still match keep their doc text (with its elisions); a drifted step gets every line it printed.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Actual } from "./session.js";
import type { Block } from "./markdown.js";
import type { Step } from "./steps.js";

export const UPDATE = process.env.UPDATE_DOC_EXAMPLES === "1";

interface Edit {
  /** 0-based file line the new lines go after; the file lines to drop */
  after: number;
  drop: number[];
  lines: string[];
}

const pending = new Map<string, Edit[]>();

/** The doc form of what a step printed. */
export function renderOutput(kind: "cli" | "ws", lines: string[]): string[] {
  return lines.map((l) => (kind === "cli" ? (l === "" ? "#>" : `#> ${l}`) : `< ${l}`));
}

export function recordEdit(block: Block, kind: "cli" | "ws", step: Step, actual: Actual): void {
  const edits = pending.get(block.file) ?? [];
  const drop = step.outputLines.map((i) => block.bodyStart + i);
  const after = drop.length > 0 ? drop[0]! - 1 : block.bodyStart + step.anchor;
  edits.push({ after, drop, lines: renderOutput(kind, actual.lines) });
  pending.set(block.file, edits);
}

/** Apply the recorded edits (bottom up, so earlier line numbers stay valid); returns the files changed. */
export function writeEdits(root: string): string[] {
  const changed: string[] = [];
  for (const [file, edits] of pending) {
    const path = join(root, file);
    const lines = readFileSync(path, "utf8").split("\n");
    for (const e of [...edits].sort((a, b) => b.after - a.after)) {
      for (const i of [...e.drop].sort((a, b) => b - a)) lines.splice(i, 1);
      lines.splice(e.after + 1, 0, ...e.lines);
    }
    writeFileSync(path, lines.join("\n"));
    changed.push(file);
  }
  pending.clear();
  return changed;
}
