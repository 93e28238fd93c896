/**
 * Nesting depth of a JSON text, measured on the raw string before JSON.parse so that a hostile
 * frame (`[[[[...]]]]`) is refused without building a deep object or blowing the stack.
 * Brackets inside strings (including escaped quotes) are ignored. Returns early once `limit`
 * is exceeded.
 */
export function exceedsJsonDepth(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > limit) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return false;
}
