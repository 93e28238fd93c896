/** #16: docs/architecture.md draws the same layer order the import-boundary test enforces. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { expect, it } from "vitest";
import { LAYERS } from "./layers.js";

it("#16 docs/architecture.md lists the layers of layers.test.ts, in the same order", () => {
  const doc = readFileSync(resolve(import.meta.dirname, "../../docs/architecture.md"), "utf8");
  const start = doc.indexOf("<!-- layers:");
  expect(start).toBeGreaterThan(0);
  const rows = doc
    .slice(start)
    .split("\n")
    .slice(1)
    .filter((l, i, all) => all.slice(0, i + 1).every((x) => x.startsWith("|")))
    .slice(2);
  const folders = rows.map((r) => r.split("|")[2]!.trim().replace(/`/g, "").replace(/\/$/, ""));
  expect(folders).toEqual([...LAYERS]);
});
