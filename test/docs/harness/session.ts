/**
 * A doc session: the blocks of one markdown file that share `session=NAME` (or one block alone),
 * run in doc order in one temp work dir, with one shell and the servers its blocks start.
 *
 * The work dir links the checkout's fixtures/ and scripts/, and node_modules/causeway to the
 * checkout (so `import "causeway"` works in files the doc writes). Servers always listen on
 * 127.0.0.1 on an ephemeral port; the doc's port (3141 unless `--port N`) is rewritten to it in
 * commands and back in what they print, and `CAUSEWAY_URL` points at the 3141 server.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { CLI, ROOT, spawnServer, type SpawnedServer } from "../../helpers/spawn.js";
import type { Block } from "./markdown.js";
import { DocShell } from "./shell.js";
import { DEFAULT_PORT, parseServerCommand, type Step } from "./steps.js";
import { runWsSteps } from "./ws.js";

/** What one step printed, with the doc's ports and paths put back. */
export interface Actual {
  lines: string[];
  code: number;
}

/** the test runner's CAUSEWAY_* settings must not leak into a doc's shell or servers */
const cleanEnv = (): Record<string, string | undefined> =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("CAUSEWAY_")));
const unsetCauseway = (): Record<string, undefined> =>
  Object.fromEntries(Object.keys(process.env).filter((k) => k.startsWith("CAUSEWAY_")).map((k) => [k, undefined]));

export class DocSession {
  readonly work: string;
  private shell: DocShell | null = null;
  private readonly servers = new Map<number, SpawnedServer>();

  constructor() {
    this.work = mkdtempSync(join(tmpdir(), "causeway-doc-"));
    for (const dir of ["fixtures", "scripts"]) symlinkSync(join(ROOT, dir), join(this.work, dir));
    mkdirSync(join(this.work, "node_modules"));
    symlinkSync(ROOT, join(this.work, "node_modules/causeway"));
    mkdirSync(join(this.work, "data"));
  }

  private sh(): DocShell {
    this.shell ??= new DocShell(this.work, CLI, cleanEnv());
    return this.shell;
  }

  /** doc text → what actually runs: the doc's ports become the servers' ports */
  toActual(text: string): string {
    let out = text;
    for (const [docPort, s] of this.servers) out = out.replace(new RegExp(`(127\\.0\\.0\\.1|localhost):${docPort}\\b`, "g"), `$1:${s.port}`);
    return out;
  }

  /** printed text → doc text: the servers' ports become the doc's, the work dir "." */
  toDoc(text: string): string {
    let out = text.split(this.work).join(".");
    for (const [docPort, s] of this.servers) out = out.replace(new RegExp(`(127\\.0\\.0\\.1|localhost):${s.port}\\b`, "g"), `$1:${docPort}`);
    return out;
  }

  serverLogs(): string {
    return [...this.servers].map(([port, s]) => `--- server for port ${port}:\n${s.stderr.slice(-30).join("\n")}`).join("\n");
  }

  async startServer(args: string[], docPort: number): Promise<void> {
    const old = this.servers.get(docPort);
    if (old) {
      const exit = await old.stop("SIGTERM");
      if (exit.code !== 0) throw new Error(`the server for port ${docPort} exited ${JSON.stringify(exit)} on SIGTERM:\n${old.stderr.join("\n")}`);
      this.servers.delete(docPort);
    }
    // --log-level last: the harness reads the "listening" line from the server's info log
    const server = await spawnServer({ cwd: this.work, serveArgs: [...args, "--log-level", "info"], env: unsetCauseway() });
    this.servers.set(docPort, server);
    if (docPort === DEFAULT_PORT) await this.sh().export("CAUSEWAY_URL", `ws://127.0.0.1:${server.port}/`);
  }

  /** Runs a server block. */
  async server(block: Block): Promise<void> {
    const { args, docPort } = parseServerCommand(block.body);
    await this.startServer(args, docPort);
  }

  /** A cli or ws block needs the default server (npm start) unless it says no-server. */
  async ensureDefaultServer(block: Block): Promise<void> {
    if (block.annotation?.noServer || this.servers.has(DEFAULT_PORT)) return;
    await this.startServer([], DEFAULT_PORT);
  }

  writeFile(block: Block, path: string): void {
    const target = join(this.work, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, block.body.join("\n") + "\n");
  }

  async cli(steps: Step[]): Promise<Actual[]> {
    const out: Actual[] = [];
    for (const step of steps) {
      const r = await this.sh().run(this.toActual(step.input));
      const text = this.toDoc(r.output).replace(/\n$/, "");
      out.push({ lines: text === "" ? [] : text.split("\n").map((l) => l.trimEnd()), code: r.code });
    }
    return out;
  }

  async ws(steps: Step[]): Promise<Actual[]> {
    const server = this.servers.get(DEFAULT_PORT);
    if (!server) throw new Error("a ws block needs a server: drop no-server, or start one in a server block first");
    const frames = await runWsSteps(server.url, steps);
    return frames.map((lines) => ({ lines: lines.map((l) => this.toDoc(l)), code: 0 }));
  }

  async close(): Promise<void> {
    await this.shell?.close();
    for (const [, s] of this.servers) await s.stop("SIGTERM");
    rmSync(this.work, { recursive: true, force: true });
  }
}
