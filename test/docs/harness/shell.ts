/**
 * One bash process per doc session, fed one command at a time like a user's terminal: variables,
 * `export`s and files carry over between commands and blocks. stdout and stderr are one stream (as
 * on a terminal), stdin is /dev/null, and `npx causeway …` runs the built dist/cli/main.js (the
 * real `npx causeway` is checked once in the test file: it needs the checkout as its cwd).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { dirname } from "node:path";

export interface ShellResult {
  output: string;
  code: number;
}

const PRELUDE = [
  "exec 2>&1",
  'npx() { if [ "$1" = causeway ]; then shift; "$CAUSEWAY_DOC_NODE" "$CAUSEWAY_DOC_CLI" "$@"; else command npx "$@"; fi; }',
  'npm() { echo "doc examples run npm start only in a server block" >&2; return 127; }',
  "export -f npx npm",
].join("\n");

export class DocShell {
  private readonly proc: ChildProcess;
  private buffer = "";
  private readonly marker = `__doc_${randomUUID().replace(/-/g, "")}__`;
  private waiting: (() => void) | null = null;
  private exited = false;

  constructor(cwd: string, cli: string, env: Record<string, string | undefined>) {
    this.proc = spawn("bash", ["--noprofile", "--norc"], {
      cwd,
      env: { ...env, PATH: `${dirname(process.execPath)}:${env.PATH ?? ""}`, CAUSEWAY_DOC_NODE: process.execPath, CAUSEWAY_DOC_CLI: cli },
      stdio: ["pipe", "pipe", "pipe"],
      // its own process group, so close() also ends anything a doc command left running
      detached: true,
    });
    const onData = (d: Buffer): void => {
      this.buffer += d.toString();
      this.waiting?.();
    };
    this.proc.stdout!.on("data", onData);
    this.proc.stderr!.on("data", onData);
    this.proc.once("exit", () => {
      this.exited = true;
      this.waiting?.();
    });
    this.proc.stdin!.write(PRELUDE + "\n");
  }

  /** Run one command (its text as the doc shows it); resolves with what it printed and its exit code. */
  run(command: string, timeoutMs = 30_000): Promise<ShellResult> {
    const done = new RegExp(`${this.marker} (\\d+)\\n`);
    this.proc.stdin!.write(`{\n${command}\n} </dev/null\nprintf '%s %d\\n' '${this.marker}' "$?"\n`);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        reject(new Error(`no end of command within ${timeoutMs} ms; printed so far:\n${this.buffer}`));
      }, timeoutMs);
      this.waiting = () => {
        const m = done.exec(this.buffer);
        if (!m && !this.exited) return;
        clearTimeout(timer);
        this.waiting = null;
        if (!m) return reject(new Error(`the shell exited; printed:\n${this.buffer}`));
        const output = this.buffer.slice(0, m.index);
        this.buffer = this.buffer.slice(m.index + m[0].length);
        resolve({ output, code: Number(m[1]) });
      };
      this.waiting();
    });
  }

  /** Set a variable without it counting as a doc command. */
  async export(name: string, value: string): Promise<void> {
    await this.run(`export ${name}='${value.replace(/'/g, "'\\''")}'`);
  }

  async close(): Promise<void> {
    if (!this.exited) {
      const gone = new Promise<void>((r) => this.proc.once("exit", () => r()));
      this.proc.stdin!.end("exit\n");
      const timer = setTimeout(() => this.proc.kill("SIGKILL"), 5_000);
      await gone;
      clearTimeout(timer);
    }
    try {
      process.kill(-this.proc.pid!, "SIGTERM");
    } catch {
      // the group is already empty
    }
  }
}
