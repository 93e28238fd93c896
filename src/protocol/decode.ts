/**
 * Frame → validated command envelope. Every rejection here happens before admission: it gets a
 * failure response with a stable code and emits no lifecycle event.
 *
 * A refused frame's response echoes the request's `id` (and its `type` as `command`) whenever they
 * are exactly what the client sent: a well-formed string (an over-long id is echoed too).
 */
import type { ErrorCode } from "./errors.js";
import { messageTooLarge, validationFailed } from "./messages.js";
import { exceedsJsonDepth } from "./json-depth.js";
import { badJsonValue, isWellFormedString } from "./json-values.js";
import type { CommandShapes, SchemaSet } from "./schemas.js";
import type { CommandEnvelope, ServerLimits } from "./types.js";

export type Decoded =
  | { ok: true; envelope: CommandEnvelope }
  | { ok: false; id?: string; command: string; code: ErrorCode; error: string };

/** `command` value used when a frame cannot be parsed into a typed command (as pi-server answers). */
export const PARSE_COMMAND = "unknown";
/** `command` value of a parsed frame without a usable string `type` */
export const UNKNOWN_COMMAND = "unknown";

/** U+FFFD, what a lossy UTF-8 decoder puts in place of each invalid byte sequence */
const REPLACEMENT = "\uFFFD";

export function oversize(bytes: number, limits: ServerLimits): Decoded {
  return {
    ok: false,
    command: PARSE_COMMAND,
    code: "payload_too_large",
    error: messageTooLarge(bytes, limits.maxFrameBytes),
  };
}

function usableId(value: unknown): string | undefined {
  return isWellFormedString(value) ? value : undefined;
}

function usableType(value: unknown): string | undefined {
  return isWellFormedString(value) && value.length > 0 ? value : undefined;
}

/** JSON text → a plain object, or the reason it is not one. */
function parseObject(frame: string, limits: ServerLimits): Record<string, unknown> | string {
  if (exceedsJsonDepth(frame, limits.maxJsonDepth)) return `JSON nesting exceeds the depth limit of ${limits.maxJsonDepth}`;
  let value: unknown;
  try {
    value = JSON.parse(frame);
  } catch (err) {
    return `malformed JSON: ${(err as Error).message}`;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return "a command must be a JSON object";
  return value as Record<string, unknown>;
}

export function decodeFrame(frame: string, limits: ServerLimits, registry: Pick<CommandShapes, "has">, schemas: SchemaSet): Decoded {
  const bytes = Buffer.byteLength(frame, "utf8");
  if (bytes > limits.maxFrameBytes) return oversize(bytes, limits);
  const obj = parseObject(frame, limits);
  if (typeof obj === "string") return { ok: false, command: PARSE_COMMAND, code: "invalid_command", error: obj };
  const id = usableId(obj.id);
  const type = usableType(obj.type);
  // an overflowing number or a lone surrogate anywhere: refused before anything else looks at it
  const bad = badJsonValue(obj);
  if (bad !== null) return { ok: false, id, command: type ?? UNKNOWN_COMMAND, code: "invalid_command", error: bad };
  if (type === undefined) {
    return { ok: false, id, command: UNKNOWN_COMMAND, code: "invalid_command", error: validationFailed("type: Command must have a string 'type' field") };
  }
  if (!registry.has(type)) {
    return { ok: false, id, command: type, code: "unknown_command", error: validationFailed(`type: Unknown command type '${type.slice(0, 64)}'`) };
  }
  const reason = schemas.validate(type, obj);
  if (reason !== null) return { ok: false, id, command: type, code: "invalid_command", error: reason };
  return { ok: true, envelope: obj as CommandEnvelope };
}

/**
 * A frame whose bytes are not valid UTF-8 is refused with `invalid_command`. `lossy` is the frame
 * decoded with U+FFFD replacements; it is parsed only to echo the `id` and `type` when no
 * replacement touched them (so an echoed id is always the client's own bytes, never an altered one).
 */
export function invalidUtf8(lossy: string, limits: ServerLimits): Decoded {
  const error = "frame is not valid UTF-8";
  if (Buffer.byteLength(lossy, "utf8") > limits.maxFrameBytes) return { ok: false, command: PARSE_COMMAND, code: "invalid_command", error };
  const obj = parseObject(lossy, limits);
  if (typeof obj === "string") return { ok: false, command: PARSE_COMMAND, code: "invalid_command", error };
  const untouched = (s: string | undefined): string | undefined => (s !== undefined && !s.includes(REPLACEMENT) ? s : undefined);
  const id = untouched(usableId(obj.id));
  return { ok: false, id, command: untouched(usableType(obj.type)) ?? PARSE_COMMAND, code: "invalid_command", error };
}
