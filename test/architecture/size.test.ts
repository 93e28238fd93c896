/**
 * #16: files stay small and single-purpose. No file in src/ over 400 lines, no function over 80
 * (the team's working limit is ~70; 80 is the hard stop this test enforces).
 */
import { describe, expect, it } from "vitest";
import { readSources } from "./source-files.js";

export const MAX_FILE_LINES = 400;
export const MAX_FUNCTION_LINES = 80;

const sources = readSources();

describe("#16 sizes", () => {
  it(`no file in src/ is over ${MAX_FILE_LINES} lines`, () => {
    expect(sources.filter((f) => f.lines > MAX_FILE_LINES).map((f) => `${f.path}: ${f.lines} lines`)).toEqual([]);
  });

  it(`no function in src/ is over ${MAX_FUNCTION_LINES} lines`, () => {
    const long = sources.flatMap((f) => f.functions.filter((fn) => fn.lines > MAX_FUNCTION_LINES).map((fn) => `${f.path}:${fn.line} ${fn.name}: ${fn.lines} lines`));
    expect(long).toEqual([]);
  });

  it("the reader sees what it measures (a guard against a reader that finds nothing)", () => {
    const engine = sources.find((f) => f.path === "engine/engine.ts");
    expect(engine?.lines).toBeGreaterThan(50);
    expect(engine?.functions.length).toBeGreaterThan(5);
    expect(sources.length).toBeGreaterThan(100);
  });
});
