/** Session-lane state commands: get_state (read), set (JSON Pointer write, pointer.ts), patch (RFC 6902, atomic, patch-ops.ts). */
import type { Operation } from "fast-json-patch";
import { defineCommand } from "../define.js";
import { applyOps, PATCH_OPS } from "./patch-ops.js";
import { setAtPointer } from "./pointer.js";

export const getState = defineCommand({
  type: "get_state",
  scope: "session",
  effect: "read",
  deterministic: true,
  params: { type: "object", properties: {} },
  run(ctx) {
    return { state: ctx.state };
  },
});

export const setValue = defineCommand<{ path: string; value: unknown }>({
  type: "set",
  scope: "session",
  effect: "write",
  deterministic: true,
  params: {
    type: "object",
    properties: { path: { type: "string", maxLength: 4096, pattern: "^(/.*)?$" }, value: {} },
    required: ["path", "value"],
  },
  run(ctx, { path, value }) {
    ctx.replaceState(setAtPointer(ctx.state, path, value));
    return { path };
  },
});

export const patchState = defineCommand<{ ops: Operation[] }>({
  type: "patch",
  scope: "session",
  effect: "write",
  deterministic: true,
  params: {
    type: "object",
    properties: {
      ops: {
        type: "array",
        maxItems: 1000,
        items: {
          type: "object",
          required: ["op", "path"],
          properties: { op: { enum: [...PATCH_OPS] }, path: { type: "string" }, from: { type: "string" }, value: {} },
          additionalProperties: false,
        },
      },
    },
    required: ["ops"],
  },
  run(ctx, { ops }) {
    // The ops apply to the draft itself (copy-on-write: the stored state is never touched); a
    // failing op throws and the engine discards the draft of a failed command.
    ctx.replaceState(applyOps(ctx.state, ops));
    return { applied: ops.length };
  },
});
