/**
 * The one place transports turn frame bytes into text. Invalid UTF-8 is never decoded silently:
 * the caller gets the lossy text (U+FFFD replacements) flagged as invalid, and answers it with
 * `invalid_command` (ConnectionHandler.onInvalidUtf8) instead of running an altered frame.
 */
import { isUtf8 } from "node:buffer";

export type FrameText = { valid: true; text: string } | { valid: false; lossy: string };

export function decodeFrameBytes(bytes: Buffer): FrameText {
  const text = bytes.toString("utf8");
  // pure ASCII and most valid frames round-trip without replacements; isUtf8 settles the rest
  return isUtf8(bytes) ? { valid: true, text } : { valid: false, lossy: text };
}

/** the UTF-8 byte order mark, accepted (and dropped) at the very start of a stdio stream */
export const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);
