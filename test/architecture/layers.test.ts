/**
 * #16: the layer order of docs/architecture.md, enforced. A folder of `src/` may import only
 * folders below it (and itself); the client imports only the protocol; no two files import each
 * other in a loop, directly or through others.
 */
import { describe, expect, it } from "vitest";
import { cycles, LAYERS, ONLY } from "./layers.js";
import { readSources } from "./source-files.js";

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

