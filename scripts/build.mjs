#!/usr/bin/env node
// `npm run build`: compile src/ to dist/ and mark the bin executable. tsc writes files 0644, and npm
// links (and chmods) a project's own bin only when it first installs it into npx's cache, so a dist/
// rebuilt later would leave `npx causeway` with "Permission denied".
import { execFileSync } from "node:child_process";
import { chmodSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const binFile = join(root, "dist/cli/main.js");

export function build() {
  execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tsconfig.build.json")], { stdio: "inherit", cwd: root });
  chmodSync(binFile, 0o755);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) build();
