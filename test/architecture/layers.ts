/** The layer order of docs/architecture.md, and a cycle finder over the import graph. */
import type { SourceFile } from "./source-files.js";

/** Bottom → top. The same list is drawn in docs/architecture.md (a test there checks it is the same). */
export const LAYERS = ["protocol", "config", "lifecycle", "journal", "observability", "auth", "governance", "commands", "transport", "audit", "engine", "operator", "server", "cli", "index.ts"] as const;
/** Folders that may import only some of the layers below them. */
export const ONLY: Record<string, readonly string[]> = { client: ["protocol"] };

/** Every strongly connected group of more than one file (Tarjan), as sorted path lists. */
export function cycles(files: SourceFile[]): string[][] {
  const edges = new Map(files.map((f) => [f.path, f.imports]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1 || (edges.get(v) ?? []).includes(v)) out.push(group.sort());
    }
  };
  for (const f of files) if (!index.has(f.path)) visit(f.path);
  return out;
}
