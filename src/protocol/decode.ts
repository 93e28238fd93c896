/**
 * Frame → validated command envelope. Every rejection here happens before admission: it gets a
 * failure response with a stable code and emits no lifecycle event.
 */
import type { CommandRegistry } from "../commands/registry.js";
import type { ErrorCode } from "./errors.js";
import { validationFailed } from "./messages.js";
import { exceedsJsonDepth } from "./json-depth.js";
import type { SchemaSet } from "./schemas.js";
import type { CommandEnvelope, ServerLimits } from "./types.js";

export type Decoded =
  | { ok: true; envelope: CommandEnvelope }
  | { ok: false; id?: string; command: string; code: ErrorCode; error: string };

/** `command` value used when a frame cannot be parsed into a typed command (as pi-server answers). */
export const PARSE_COMMAND = "unknown";

export function oversize(bytes: number, limits: ServerLimits): Decoded {
  return {
    ok: false,
    command: PARSE_COMMAND,
    code: "payload_too_large",
    error: `frame of ${bytes} bytes exceeds the ${limits.maxFrameBytes}-byte limit`,
  };
}

export function decodeFrame(frame: string, limits: ServerLimits, registry: CommandRegistry, schemas: SchemaSet): Decoded {
  const bytes = Buffer.byteLength(frame, "utf8");
  if (bytes > limits.maxFrameBytes) return oversize(bytes, limits);
  if (exceedsJsonDepth(frame, limits.maxJsonDepth)) {
    return { ok: false, command: PARSE_COMMAND, code: "invalid_command", error: `JSON nesting exceeds the depth limit of ${limits.maxJsonDepth}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(frame);
  } catch (err) {
    return { ok: false, command: PARSE_COMMAND, code: "invalid_command", error: `malformed JSON: ${(err as Error).message}` };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { ok: false, command: PARSE_COMMAND, code: "invalid_command", error: "a command must be a JSON object" };
  }
  const obj = value as Record<string, unknown>;
  // a response to an invalid command echoes the frame's string id, whatever is wrong with it
  const id = typeof obj.id === "string" ? obj.id : undefined;
  if (typeof obj.type !== "string" || obj.type.length === 0) {
    return { ok: false, id, command: "unknown", code: "invalid_command", error: validationFailed("type: Command must have a string 'type' field") };
  }
  const type = obj.type;
  if (!registry.has(type)) {
    return { ok: false, id, command: type, code: "unknown_command", error: validationFailed(`type: Unknown command type '${type.slice(0, 64)}'`) };
  }
  const reason = schemas.validate(type, obj);
  if (reason !== null) return { ok: false, id, command: type, code: "invalid_command", error: reason };
  return { ok: true, envelope: obj as CommandEnvelope };
}
