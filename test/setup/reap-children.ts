/**
 * After each test file: no server or CLI child started through test/helpers/spawn.ts outlives it
 * (a test that fails before its own cleanup would otherwise leave it running for the whole run).
 */
import { afterAll } from "vitest";
import { reapChildren } from "../helpers/spawn.js";

afterAll(async () => {
  await reapChildren();
});
