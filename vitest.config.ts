import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // runs after each file's own afterAll hooks (hooks run as a stack): kills children its cleanup missed
    setupFiles: ["test/setup/reap-children.ts"],
    reporters: ["default"],
  },
});
