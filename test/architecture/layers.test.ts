/**
 * #16: the layer order of docs/architecture.md, enforced. A folder of `src/` may import only
 * folders below it (and itself); the client imports only the protocol; no two files import each
 * other in a loop, directly or through others.
 */
import { describe, expect, it } from "vitest";
import { readSources, type SourceFile } from "./source-files.js";

/** Bottom → top. The same list is drawn in docs/architecture.md (a test there checks it is the same). */
export const LAYERS = ["protocol", "config", "lifecycle", "journal", "observability", "auth", "governance", "commands", "transport", "audit", "engine", "operator", "server", "cli", "index.ts"] as const;
/** Folders that may import only some of the layers below them. */
export const ONLY: Record<string, readonly string[]> = { client: ["protocol"] };

const layerOf = (path: string): string => (path.includes("/") ? path.slice(0, path.indexOf("/")) : path);

function rank(layer: string): number {
  if (layer === "client") return 0.5; // just above the protocol: everything else may use it
  return LAYERS.indexOf(layer as (typeof LAYERS)[number]);
}

const sources = readSources();

describe("#16 import boundaries", () => {
  it("every file of src/ belongs to a known layer", () => {
    const unknown = sources.map((f) => layerOf(f.path)).filter((l) => rank(l) < 0);
    expect([...new Set(unknown)]).toEqual([]);
  });

  it("no import runs up the layer order (and the client imports only protocol/)", () => {
    const upward: string[] = [];
    for (const f of sources) {
      const from = layerOf(f.path);
      for (const target of f.imports) {
        const to = layerOf(target);
        if (to === from) continue;
        const only = ONLY[from];
        if ((only && !only.includes(to)) || rank(to) > rank(from)) upward.push(`${f.path} → ${target}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it("no import cycle between files", () => {
    expect(cycles(sources)).toEqual([]);
  });
});

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
