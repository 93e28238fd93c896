/**
 * Incremental, pure line splitter for the stdio transport.
 *
 * - Lines end with LF or CRLF; the terminator is not part of the line.
 * - Bytes stay in Buffers until a line is complete, so a multi-byte UTF-8 character split across
 *   chunks decodes correctly.
 * - Empty lines are ignored.
 * - A UTF-8 byte order mark at the very start of the input is dropped.
 * - A line that is not valid UTF-8 goes to `onInvalidUtf8` (with its lossy decoding), never to
 *   `onLine`, so no altered text is ever taken for the client's own.
 * - A line longer than `maxLineBytes` (excluding its terminator) is discarded up to its newline and
 *   reported once via `onOversize(bytes)`, with `bytes` the full length of the discarded line. At
 *   most `maxLineBytes + 1` bytes are ever buffered (the `+ 1` leaves room for a CR whose LF has not
 *   arrived yet).
 */

import { decodeFrameBytes, UTF8_BOM } from "./utf8.js";

export interface LineSplitterOptions {
  maxLineBytes: number;
  /** called for every complete, non-empty line, in input order */
  onLine?: (line: string) => void;
  /** called once per over-long line, in input order relative to `onLine` */
  onOversize?: (bytes: number) => void;
  /** called for a complete line that is not valid UTF-8, in input order; `lossy` has U+FFFD replacements */
  onInvalidUtf8?: (lossy: string) => void;
}

const LF = 0x0a;
const CR = 0x0d;

export class LineSplitter {
  readonly maxLineBytes: number;
  private readonly onLine: (line: string) => void;
  private readonly onOversize: (bytes: number) => void;
  private readonly onInvalidUtf8: (lossy: string) => void;
  /** no line has ended yet: a leading byte order mark is still to be dropped */
  private atStart = true;
  /** pieces of the current (unterminated) line while it is within the cap */
  private parts: Buffer[] = [];
  private partsLength = 0;
  /** true while skipping the rest of an over-long line */
  private discarding = false;
  /** bytes skipped so far on the current over-long line (terminator excluded) */
  private discarded = 0;
  /** whether the last byte counted in `discarded` was a CR (it may turn out to be part of CRLF) */
  private discardedEndsWithCR = false;

  constructor(options: LineSplitterOptions) {
    if (!Number.isInteger(options.maxLineBytes) || options.maxLineBytes < 1) {
      throw new RangeError(`maxLineBytes must be a positive integer, got ${options.maxLineBytes}`);
    }
    this.maxLineBytes = options.maxLineBytes;
    this.onLine = options.onLine ?? (() => {});
    this.onOversize = options.onOversize ?? (() => {});
    this.onInvalidUtf8 = options.onInvalidUtf8 ?? (() => {});
  }

  /** Bytes currently held for an unterminated line (never more than `maxLineBytes + 1`). */
  get bufferedBytes(): number {
    return this.partsLength;
  }

  /**
   * Feed a chunk. Complete lines are passed to `onLine` (and over-long ones to `onOversize`) before
   * this returns; the complete lines are also returned.
   */
  push(chunk: Buffer | string): string[] {
    const buf = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    const out: string[] = [];
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(LF, start);
      if (nl === -1) break;
      this.finishLine(buf.subarray(start, nl), out);
      start = nl + 1;
    }
    if (start < buf.length) this.append(buf.subarray(start));
    return out;
  }

  /** End of input: a final unterminated line is emitted (or reported oversize). */
  end(): string[] {
    const out: string[] = [];
    if (this.discarding || this.partsLength > 0) this.finishLine(Buffer.alloc(0), out);
    return out;
  }

  /** Add bytes of an unterminated line, switching to discard mode when it outgrows the cap. */
  private append(segment: Buffer): void {
    if (segment.length === 0) return;
    if (this.discarding) {
      this.discarded += segment.length;
      this.discardedEndsWithCR = segment[segment.length - 1] === CR;
      return;
    }
    if (this.partsLength + segment.length > this.maxLineBytes + 1) {
      this.discarding = true;
      this.discarded = this.partsLength + segment.length;
      this.discardedEndsWithCR = segment[segment.length - 1] === CR;
      this.parts = [];
      this.partsLength = 0;
      return;
    }
    // copy: do not keep the whole (possibly large) input chunk alive for a short tail
    this.parts.push(Buffer.from(segment));
    this.partsLength += segment.length;
  }

  /** The line that `tail` completes has ended (at an LF, or at end of input). */
  private finishLine(tail: Buffer, out: string[]): void {
    const first = this.atStart;
    this.atStart = false;
    if (this.discarding) {
      let bytes = this.discarded + tail.length;
      const endsWithCR = tail.length > 0 ? tail[tail.length - 1] === CR : this.discardedEndsWithCR;
      if (endsWithCR) bytes -= 1;
      this.discarding = false;
      this.discarded = 0;
      this.discardedEndsWithCR = false;
      this.onOversize(bytes);
      return;
    }
    const total = this.partsLength + tail.length;
    const lastByte = tail.length > 0 ? tail[tail.length - 1] : this.lastPartByte();
    const length = lastByte === CR ? total - 1 : total;
    if (length > this.maxLineBytes) {
      this.parts = [];
      this.partsLength = 0;
      this.onOversize(length);
      return;
    }
    let line: Buffer;
    if (this.partsLength === 0) line = tail;
    else {
      this.parts.push(tail);
      line = Buffer.concat(this.parts, total);
    }
    this.parts = [];
    this.partsLength = 0;
    let body = line.subarray(0, length);
    if (first && body.subarray(0, UTF8_BOM.length).equals(UTF8_BOM)) body = body.subarray(UTF8_BOM.length);
    if (body.length === 0) return;
    const decoded = decodeFrameBytes(body);
    if (!decoded.valid) return this.onInvalidUtf8(decoded.lossy);
    out.push(decoded.text);
    this.onLine(decoded.text);
  }

  private lastPartByte(): number | undefined {
    const last = this.parts[this.parts.length - 1];
    return last === undefined ? undefined : last[last.length - 1];
  }
}
