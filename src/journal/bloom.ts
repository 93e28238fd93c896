/**
 * A Bloom filter over strings: `add`, and `mayContain`, which is false only for a string never
 * added (true may be a false positive). Fixed size, chosen up front: `bits` (rounded up to a power
 * of two, at least 1024) and `hashes` probes per string, derived from two 32-bit FNV-1a hashes with
 * different offsets by double hashing. With the default 2^24 bits (2 MiB) and 7 probes, one million
 * strings give about 0.05 % false positives; more strings only raise that rate.
 */
export class BloomFilter {
  readonly bits: number;
  private readonly words: Uint32Array;
  private readonly mask: number;
  private count = 0;

  constructor(
    bits: number,
    private readonly hashes = 7,
  ) {
    let n = 1024;
    while (n < bits && n < 2 ** 31) n *= 2;
    this.bits = n;
    this.mask = n - 1;
    this.words = new Uint32Array(n >>> 5);
  }

  /** how many strings were added (repeats counted) */
  get added(): number {
    return this.count;
  }

  add(s: string): void {
    const [h1, h2] = hash2(s);
    for (let i = 0; i < this.hashes; i++) {
      const b = (h1 + Math.imul(i, h2)) & this.mask;
      this.words[b >>> 5]! |= 1 << (b & 31);
    }
    this.count++;
  }

  mayContain(s: string): boolean {
    const [h1, h2] = hash2(s);
    for (let i = 0; i < this.hashes; i++) {
      const b = (h1 + Math.imul(i, h2)) & this.mask;
      if ((this.words[b >>> 5]! & (1 << (b & 31))) === 0) return false;
    }
    return true;
  }
}

const pair: [number, number] = [0, 0];

/** Two 32-bit FNV-1a hashes of the UTF-16 code units (different offset bases); the second is odd. */
function hash2(s: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193);
  }
  // final avalanche so nearby strings ("id-1", "id-2") spread over the whole table
  a ^= a >>> 15;
  a = Math.imul(a, 0x2c1b3c6d);
  a ^= a >>> 13;
  b ^= b >>> 16;
  b = Math.imul(b, 0x297a2d39);
  b ^= b >>> 15;
  pair[0] = a >>> 0;
  pair[1] = (b | 1) >>> 0;
  return pair;
}
