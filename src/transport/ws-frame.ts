/**
 * A WebSocket text frame (RFC 6455 §5.2) as the server sends it: FIN, opcode 1, unmasked, no
 * extension bits (the server never negotiates permessage-deflate). The same frame is written to
 * every recipient: one encoding and one buffer per frame, not one per connection, and one stream
 * write per frame on each socket instead of `ws.send`'s header + payload pair.
 *
 * The one-entry cache serves the publisher's fan-out (it hands the same string to each recipient
 * in turn); any other string is framed afresh.
 */

let lastText: string | null = null;
let lastFrame: Buffer = Buffer.alloc(0);

/** The bytes of `text` as one server-to-client text frame. */
export function textFrame(text: string): Buffer {
  if (text === lastText) return lastFrame;
  const len = Buffer.byteLength(text);
  const head = len < 126 ? 2 : len < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + len);
  frame[0] = 0x81; // FIN + text
  if (head === 2) frame[1] = len;
  else if (head === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(len, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    frame.writeUInt32BE(len >>> 0, 6);
  }
  frame.write(text, head, "utf8");
  lastText = text;
  lastFrame = frame;
  return frame;
}
