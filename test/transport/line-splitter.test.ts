import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LineSplitter } from "../../src/transport/line-splitter.js";

type Ev = { line: string } | { oversize: number } | { invalid: string };

function collect(maxLineBytes: number): { splitter: LineSplitter; events: Ev[] } {
  const events: Ev[] = [];
  const splitter = new LineSplitter({
    maxLineBytes,
    onLine: (line) => events.push({ line }),
    onOversize: (bytes) => events.push({ oversize: bytes }),
    onInvalidUtf8: (lossy) => events.push({ invalid: lossy }),
  });
  return { splitter, events };
}

describe("LineSplitter", () => {
  it("splits LF and CRLF lines and returns complete lines from push", () => {
    const { splitter, events } = collect(100);
    expect(splitter.push("a\nb\r\nc")).toEqual(["a", "b"]);
    expect(splitter.push("d\r")).toEqual([]);
    expect(splitter.push("\ne\n")).toEqual(["cd", "e"]);
    expect(events).toEqual([{ line: "a" }, { line: "b" }, { line: "cd" }, { line: "e" }]);
  });

  it("ignores empty lines (LF, CRLF, and a lone CR before LF)", () => {
    const { splitter, events } = collect(100);
    splitter.push("\n\r\n\n\rx\n\r\n");
    splitter.end();
    expect(events).toEqual([{ line: "\rx" }]);
  });

  it("keeps a multi-byte UTF-8 character split across chunks intact", () => {
    const { splitter, events } = collect(100);
    const bytes = Buffer.from("é€😀\n", "utf8");
    for (let i = 0; i < bytes.length; i++) splitter.push(bytes.subarray(i, i + 1));
    expect(events).toEqual([{ line: "é€😀" }]);
  });

  it("#15.11 drops a UTF-8 byte order mark at the very start of the input (even split across chunks), and nowhere else", () => {
    const { splitter, events } = collect(100);
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    splitter.push(bom.subarray(0, 1));
    splitter.push(Buffer.concat([bom.subarray(1), Buffer.from('{"a":1}\n')]));
    splitter.push(Buffer.concat([bom, Buffer.from('{"b":2}\n')]));
    expect(events).toEqual([{ line: '{"a":1}' }, { line: '\ufeff{"b":2}' }]);
    // a BOM alone on the first line leaves an empty line, which is ignored
    const other = collect(100);
    other.splitter.push(Buffer.concat([bom, Buffer.from("\nx\n")]));
    expect(other.events).toEqual([{ line: "x" }]);
  });

  it("#15.11 hands a line that is not valid UTF-8 to onInvalidUtf8 (lossy text), never to onLine, in input order", () => {
    const { splitter, events } = collect(100);
    const lines = splitter.push(Buffer.concat([Buffer.from('{"id":"a'), Buffer.from([0xff]), Buffer.from('"}\nok\n'), Buffer.from([0xed, 0xa0, 0x80, 0x0a])]));
    expect(lines).toEqual(["ok"]);
    expect(events).toEqual([{ invalid: '{"id":"a\ufffd"}' }, { line: "ok" }, { invalid: "\ufffd\ufffd\ufffd" }]);
  });

  it("discards an over-long line up to its newline, reports it once with its full length, and continues", () => {
    const { splitter, events } = collect(10);
    splitter.push("0123456789"); // exactly at the cap: fine
    splitter.push("\r\n");
    splitter.push("x".repeat(7));
    splitter.push("y".repeat(7)); // now over the cap: switches to discarding
    expect(splitter.bufferedBytes).toBe(0);
    splitter.push("z".repeat(1000));
    splitter.push("\r\nok\n");
    expect(events).toEqual([{ line: "0123456789" }, { oversize: 1014 }, { line: "ok" }]);
  });

  it("rejects a line one byte over the cap even when the CR arrives in a separate chunk", () => {
    const { splitter, events } = collect(3);
    splitter.push("abcd");
    splitter.push("\r");
    splitter.push("\n");
    splitter.push("abc\r");
    splitter.push("\n");
    expect(events).toEqual([{ oversize: 4 }, { line: "abc" }]);
  });

  it("reports an over-long line within a single chunk without buffering it", () => {
    const { splitter, events } = collect(4);
    splitter.push("a-very-long-line\nshort\nfour\n");
    expect(events).toEqual([{ oversize: 16 }, { oversize: 5 }, { line: "four" }]);
  });

  it("end() flushes a final unterminated line, or reports it oversize", () => {
    const a = collect(5);
    a.splitter.push("tail");
    expect(a.splitter.end()).toEqual(["tail"]);
    expect(a.events).toEqual([{ line: "tail" }]);

    const b = collect(5);
    b.splitter.push("toolong");
    b.splitter.push("-and-longer");
    b.splitter.end();
    expect(b.events).toEqual([{ oversize: 18 }]);

    const c = collect(5);
    c.splitter.end();
    expect(c.events).toEqual([]);
  });

  it("property: any lines, endings and chunking give back exactly the lines (minus empty ones), over-cap lines only reported", () => {
    const seed = Number(process.env.FC_SEED ?? Date.now());
    console.log("fast-check seed", seed);
    const lineArb = fc.record({
      text: fc.oneof(
        fc.string({ unit: "binary", maxLength: 12 }),
        fc.string({ unit: "grapheme-ascii", maxLength: 40 }),
        fc.constant(""),
      ).map((s) => s.replace(/[\r\n]/g, "")),
      crlf: fc.boolean(),
    });
    const prop = fc.property(
      fc.array(lineArb, { maxLength: 30 }),
      fc.boolean(),
      fc.integer({ min: 1, max: 24 }),
      fc.array(fc.nat(), { maxLength: 40 }),
      (lines, lastTerminated, maxLineBytes, cutSeeds) => {
        const text = lines.map((l, i) => l.text + (i === lines.length - 1 && !lastTerminated ? "" : l.crlf ? "\r\n" : "\n")).join("");
        const bytes = Buffer.from(text, "utf8");
        const cuts = [...new Set(cutSeeds.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort((x, y) => x - y);
        const expected: Ev[] = [];
        for (const [i, l] of lines.entries()) {
          const n = Buffer.byteLength(l.text, "utf8");
          // a byte order mark at the very start of the input is dropped (within the cap)
          const line = i === 0 && n <= maxLineBytes ? l.text.replace(/^\ufeff/, "") : l.text;
          if (line.length === 0) continue;
          expected.push(n > maxLineBytes ? { oversize: n } : { line });
        }
        const { splitter, events } = collect(maxLineBytes);
        let prev = 0;
        for (const cut of [...cuts, bytes.length]) {
          splitter.push(bytes.subarray(prev, cut));
          expect(splitter.bufferedBytes).toBeLessThanOrEqual(maxLineBytes + 1);
          prev = cut;
        }
        splitter.end();
        expect(events).toEqual(expected);
      },
    );
    fc.assert(prop, { seed, verbose: true, numRuns: 500 });
  });
});
