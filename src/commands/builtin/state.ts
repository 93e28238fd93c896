/** Session-lane state commands: get_state (read), set (JSON Pointer write), patch (RFC 6902, atomic). */
import jsonPatch from "fast-json-patch";
import type { Operation } from "fast-json-patch";
import { CausewayError } from "../../protocol/errors.js";
import { defineCommand } from "../define.js";
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

const OPS = ["add", "remove", "replace", "move", "copy", "test"];

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
          properties: { op: { enum: OPS }, path: { type: "string" }, from: { type: "string" }, value: {} },
          additionalProperties: false,
        },
      },
    },
    required: ["ops"],
  },
  run(ctx, { ops }) {
    // The draft is already a private copy; a failing op throws before we replace it, so the
    // session state is untouched (the engine discards the draft of a failed command anyway).
    const doc = structuredClone(ctx.state);
    try {
      const result = jsonPatch.applyPatch(doc, ops, true, true, true);
      ctx.replaceState(result.newDocument);
    } catch (err) {
      const e = err as { message?: string; name?: string; index?: number };
      const first = (e.message ?? String(err)).split("\n")[0];
      throw new CausewayError("patch_failed", `patch op ${e.index ?? "?"} failed: ${first}`, { index: e.index });
    }
    return { applied: ops.length };
  },
});
