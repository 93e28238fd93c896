/**
 * Find the fenced code blocks of a markdown file, the `<!-- example: … -->` annotation on the line
 * just before each, and the heading each sits under. docs/examples.md describes the annotations.
 */
export type Kind = "cli" | "ws" | "server" | "file" | "not-run";

export interface Annotation {
  kind: Kind;
  /** blocks with the same session (per file) share a work dir, a shell and servers, in doc order */
  session?: string;
  /** cli / ws: do not start the default server for this block */
  noServer: boolean;
  /** file: the path to write the block to; not-run: the reason */
  arg?: string;
}

export interface Block {
  file: string;
  /** 1-based line of the opening fence */
  line: number;
  info: string;
  /** the lines between the fences */
  body: string[];
  /** 0-based index of the first body line in the file's lines */
  bodyStart: number;
  heading: string;
  annotation?: Annotation;
  annotationError?: string;
}

const ANNOTATION = /^\s*<!--\s*example:\s*(.*?)\s*-->\s*$/;
const FENCE = /^( {0,3})(`{3,}|~{3,})(.*)$/;

export function parseAnnotation(text: string): Annotation {
  const notRun = /^not-run\s*\((.+)\)$/.exec(text);
  if (notRun) return { kind: "not-run", noServer: true, arg: notRun[1]!.trim() };
  if (/^not-run\b/.test(text)) throw new Error(`"not-run" needs a reason in parentheses: not-run (why it cannot run)`);
  const [kind, ...rest] = text.split(/\s+/);
  const a: Annotation = { kind: kind as Kind, noServer: false };
  if (!["cli", "ws", "server", "file"].includes(kind ?? "")) throw new Error(`unknown example kind ${JSON.stringify(kind)} (cli, ws, server, file, not-run)`);
  for (const word of rest) {
    const kv = /^session=([\w.-]+)$/.exec(word);
    if (kv) a.session = kv[1];
    else if (word === "no-server" && (a.kind === "cli" || a.kind === "ws")) a.noServer = true;
    else if (a.kind === "file" && a.arg === undefined && !word.includes("=")) a.arg = word;
    else throw new Error(`unknown annotation word ${JSON.stringify(word)}`);
  }
  if (a.kind === "file" && !a.arg) throw new Error("file needs a path: <!-- example: file counter.mjs -->");
  return a;
}

export function scanMarkdown(file: string, text: string): Block[] {
  const lines = text.split("\n");
  const blocks: Block[] = [];
  let heading = "(top)";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const h = /^#{1,6}\s+(.*)$/.exec(line);
    if (h) heading = h[1]!.trim();
    const open = FENCE.exec(line);
    if (!open) continue;
    const marker = open[2]!;
    const close = new RegExp(`^ {0,3}${marker[0] === "`" ? "`" : "~"}{${marker.length},}\\s*$`);
    let j = i + 1;
    while (j < lines.length && !close.test(lines[j]!)) j++;
    const block: Block = { file, line: i + 1, info: open[3]!.trim(), body: lines.slice(i + 1, j), bodyStart: i + 1, heading };
    const note = i > 0 ? ANNOTATION.exec(lines[i - 1]!) : null;
    if (note) {
      try {
        block.annotation = parseAnnotation(note[1]!);
      } catch (err) {
        block.annotationError = (err as Error).message;
      }
    }
    blocks.push(block);
    i = j;
  }
  return blocks;
}

/**
 * A block "looks like an input/output example" when it is a shell block, or shows a prompt or
 * output line (`$ `, `#> `, `> `, `< `), a protocol frame (a line starting `{"type":`), or a
 * shell block of its own (a longer fence showing an example). Such a block must carry an
 * annotation, so a new example cannot dodge the test.
 */
export function looksLikeExample(b: Block): boolean {
  const lang = b.info.split(/\s+/)[0]!.toLowerCase();
  if (["sh", "bash", "shell", "console", "zsh", "shell-session"].includes(lang)) return true;
  return b.body.some((l) => /^(\$ |#>|> |< )/.test(l) || /^\s*\{\s*"type"\s*:/.test(l) || /^\s*(`{3,}|~{3,})\s*(sh|bash|shell|console)\b/.test(l));
}
