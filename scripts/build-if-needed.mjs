#!/usr/bin/env node
// `npm start` runs this first: compile src/ to dist/ when dist is missing or older than any source.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { binFile as marker, build, root } from "./build.mjs";

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const sourcesChanged = () => Math.max(newest(join(root, "src")), statSync(join(root, "tsconfig.build.json")).mtimeMs) > statSync(marker).mtimeMs;

if (!existsSync(marker) || sourcesChanged()) {
  process.stderr.write("causeway: building dist/ ...\n");
  build();
}
