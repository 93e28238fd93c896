/**
 * A JSON line as the docs show it: ordinary JSON, plus the elision marker `…` (U+2026):
 *
 * - as an object member, `{"a":1,…}`: other members may follow (any number, any keys);
 * - as a value, `"limits":…`: any value;
 * - as the last array element, `[1,…]`: more elements may follow (`[…]`: any array);
 * - inside a string, `"sha256:…"`: any run of characters there.
 *
 * parsePattern() turns such a line into a Pattern; it throws on anything else that is not JSON.
 */
export type Pattern =
  | { k: "any" }
  | { k: "obj"; entries: Array<[string, Pattern]>; open: boolean }
  | { k: "arr"; items: Pattern[]; open: boolean }
  | { k: "str"; text: string }
  | { k: "lit"; value: number | boolean | null };

export const ELLIPSIS = "…";

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  parse(): Pattern {
    const p = this.value();
    this.ws();
    if (this.i !== this.s.length) this.fail("trailing text");
    return p;
  }

  private fail(what: string): never {
    throw new SyntaxError(`${what} at column ${this.i + 1}: ${this.s.slice(this.i, this.i + 20)}`);
  }

  private ws(): void {
    while (this.i < this.s.length && " \t\r\n".includes(this.s[this.i]!)) this.i++;
  }

  private eat(ch: string): boolean {
    this.ws();
    if (this.s.startsWith(ch, this.i)) {
      this.i += ch.length;
      return true;
    }
    return false;
  }

  private expect(ch: string): void {
    if (!this.eat(ch)) this.fail(`expected ${ch}`);
  }

  private value(): Pattern {
    this.ws();
    const c = this.s[this.i];
    if (this.eat(ELLIPSIS)) return { k: "any" };
    if (c === "{") return this.object();
    if (c === "[") return this.array();
    if (c === '"') return { k: "str", text: this.string() };
    const m = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(this.s.slice(this.i));
    if (!m) this.fail("expected a JSON value");
    this.i += m[0].length;
    return { k: "lit", value: JSON.parse(m[0]) as number | boolean | null };
  }

  private string(): string {
    const m = /^"(?:[^"\\]|\\.)*"/.exec(this.s.slice(this.i));
    if (!m) this.fail("unterminated string");
    this.i += m[0].length;
    return JSON.parse(m[0]) as string;
  }

  private object(): Pattern {
    this.expect("{");
    const entries: Array<[string, Pattern]> = [];
    let open = false;
    if (this.eat("}")) return { k: "obj", entries, open };
    do {
      if (open) this.fail("an elided object member must come last");
      if (this.eat(ELLIPSIS)) {
        open = true;
        continue;
      }
      this.ws();
      const key = this.string();
      this.expect(":");
      entries.push([key, this.value()]);
    } while (this.eat(","));
    this.expect("}");
    return { k: "obj", entries, open };
  }

  private array(): Pattern {
    this.expect("[");
    const items: Pattern[] = [];
    let open = false;
    if (this.eat("]")) return { k: "arr", items, open };
    do {
      if (open) this.fail("an elided array tail must come last");
      if (this.eat(ELLIPSIS)) {
        open = true;
        continue;
      }
      items.push(this.value());
    } while (this.eat(","));
    this.expect("]");
    return { k: "arr", items, open };
  }
}

export function parsePattern(line: string): Pattern {
  return new Parser(line).parse();
}
