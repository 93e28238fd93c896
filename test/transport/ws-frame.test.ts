/**
 * The server's ready-made text frames (src/transport/ws-frame.ts) are byte for byte what ws's own
 * Sender frames for the same text, at every header size, and one frame is shared by recipients.
 */
import { createRequire } from "node:module";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { textFrame } from "../../src/transport/ws-frame.js";

type Frame = (data: Buffer, o: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }) => Buffer[];
const { Sender } = createRequire(import.meta.url)("ws") as { Sender: { frame: Frame } };
const wsFrame = (text: string): Buffer => Buffer.concat(Sender.frame(Buffer.from(text), { fin: true, opcode: 1, mask: false, readOnly: true, rsv1: false }));

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.log(`ws-frame property seed ${seed} (replay: FC_SEED=${seed})`);

describe("ws-frame: the server's text frames", () => {
  it("equal ws's Sender.frame at the header-size boundaries (125/126, 65535/65536 bytes) and for multi-byte text", () => {
    for (const n of [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]) expect(textFrame("x".repeat(n)).equals(wsFrame("x".repeat(n)))).toBe(true);
    // 3 bytes per character: the length is the UTF-8 length, not the string's
    for (const n of [41, 42, 21_845, 21_846]) expect(textFrame("€".repeat(n)).equals(wsFrame("€".repeat(n)))).toBe(true);
  });

  it("equal ws's Sender.frame for any text (fast-check)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 400 }), (s) => {
        expect(textFrame(s).equals(wsFrame(s))).toBe(true);
      }),
      { seed },
    );
  });

  it("the same text handed to recipients in turn is framed once; another text gets its own frame", () => {
    const text = JSON.stringify({ type: "command_finished", data: { commandId: "c1" } });
    const a = textFrame(text);
    expect(textFrame(text)).toBe(a);
    const b = textFrame(`${text} `);
    expect(b).not.toBe(a);
    expect(b.equals(wsFrame(`${text} `))).toBe(true);
  });
});
