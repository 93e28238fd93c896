#!/usr/bin/env node
// `npm start` runs this first: compile src/ to dist/ when dist is missing or older than any source.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const marker = join(root, "dist/cli/main.js");

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
  execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tsconfig.build.json")], { stdio: "inherit", cwd: root });
}
