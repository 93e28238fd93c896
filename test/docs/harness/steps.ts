/**
 * The steps of a runnable block, with the body line ranges an update rewrites.
 *
 * cli: a line is a shell command (a trailing `\` continues it; `<<WORD` runs to a line `WORD`);
 *   `#> text` is a line it prints (stdout and stderr together; a bare `#>` an empty line); other
 *   `#` lines are comments. A command must exit 0 unless its trailing comment says `exit N`.
 * ws: `> {json}` is sent on one WebSocket; `< {json}` is a frame received, in order.
 * server: one line, `npm start [-- ARGS]` or `npx causeway serve ARGS`.
 */
export interface Step {
  /** cli: the shell text; ws: the frame to send ("" for the frames before the first send) */
  input: string;
  expectedExit: number;
  /** the doc's output lines (without their `#> ` / `< ` prefix) */
  expected: string[];
  /** body line index after which the output lines go, and the indices of the current output lines */
  anchor: number;
  outputLines: number[];
}

function trailingComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(i);
  }
  return "";
}

export function parseCliSteps(body: string[]): Step[] {
  const steps: Step[] = [];
  for (let i = 0; i < body.length; i++) {
    const line = body[i]!;
    if (line.trim() === "") continue;
    const out = /^#>(?: (.*))?$/.exec(line);
    if (out) {
      const step = steps.at(-1);
      if (!step) throw new Error(`body line ${i + 1}: an output line before any command`);
      step.expected.push(out[1] ?? "");
      step.outputLines.push(i);
      continue;
    }
    if (line.startsWith("#")) continue;
    const parts = [line];
    const heredoc = /<<-?\s*'?"?(\w+)'?"?/.exec(line);
    while (parts.at(-1)!.endsWith("\\") && i + 1 < body.length) parts.push(body[++i]!);
    if (heredoc) while (i + 1 < body.length && parts.at(-1)!.trim() !== heredoc[1]) parts.push(body[++i]!);
    const exit = /\bexits? (\d+)\b/.exec(trailingComment(parts.at(-1)!));
    steps.push({ input: parts.join("\n"), expectedExit: exit ? Number(exit[1]) : 0, expected: [], anchor: i, outputLines: [] });
  }
  return steps;
}

export function parseWsSteps(body: string[]): Step[] {
  const steps: Step[] = [{ input: "", expectedExit: 0, expected: [], anchor: -1, outputLines: [] }];
  body.forEach((line, i) => {
    if (line.trim() === "") return;
    const m = /^([<>]) (.*)$/.exec(line);
    if (!m) throw new Error(`body line ${i + 1}: a ws line starts with "> " (sent) or "< " (received)`);
    if (m[1] === ">") steps.push({ input: m[2]!, expectedExit: 0, expected: [], anchor: i, outputLines: [] });
    else {
      steps.at(-1)!.expected.push(m[2]!);
      steps.at(-1)!.outputLines.push(i);
    }
  });
  return steps;
}

export interface ServerCommand {
  args: string[];
  /** the port the doc's clients use for this server */
  docPort: number;
}

export const DEFAULT_PORT = 3141;

export function parseServerCommand(body: string[]): ServerCommand {
  const lines = body.map((l) => l.slice(0, l.length - trailingComment(l).length).trim()).filter((l) => l !== "");
  if (lines.length !== 1) throw new Error(`a server block holds exactly one command, found ${lines.length}`);
  const words = lines[0]!.split(/\s+/);
  let args: string[];
  if (words[0] === "npm" && words[1] === "start") {
    if (words.length > 2 && words[2] !== "--") throw new Error("npm start passes arguments after --");
    args = words.slice(3);
  } else if (words[0] === "npx" && words[1] === "causeway" && words[2] === "serve") args = words.slice(3);
  else throw new Error(`a server block runs "npm start [-- ARGS]" or "npx causeway serve ARGS", not ${JSON.stringify(lines[0])}`);
  if (args.includes("--stdio")) throw new Error("a server block starts a WebSocket server; run stdio servers in a cli block");
  const out: string[] = [];
  let docPort = DEFAULT_PORT;
  for (let i = 0; i < args.length; i++) {
    // the harness binds every server to 127.0.0.1 on an ephemeral port and maps the doc's port to it
    if (args[i] === "--port") docPort = Number(args[++i]);
    else if (args[i] === "--host") i++;
    else out.push(args[i]!);
  }
  return { args: out, docPort };
}
