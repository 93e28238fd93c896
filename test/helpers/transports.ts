/**
 * Run the same scenarios over both transports: a TestClient is a CausewayClient (WebSocket) or a
 * StdioClient (the server's stdin/stdout as a child process) with the same surface.
 */
import { createInterface } from "node:readline";
import { CausewayClient, type ClientResponse, type Frame } from "./ws-client.js";
import { spawnServer, spawnStdio, type SpawnOptions, type StdioServer } from "./spawn.js";

export type TransportKind = "websocket" | "stdio";

export interface TestClient {
  readonly frames: Frame[];
  request(cmd: Record<string, unknown>, timeoutMs?: number): Promise<ClientResponse>;
  waitFor(match: (f: Frame) => boolean, timeoutMs?: number, fromIndex?: number): Promise<Frame>;
  sendRaw(frame: string | object): void;
  /** still able to talk to the server */
  usable(): boolean;
}

export interface TestServer {
  kind: TransportKind;
  client: TestClient;
  /** another connection (WebSocket), or the same one (stdio has exactly one) */
  connect(): Promise<TestClient & { close(): Promise<unknown> }>;
  stop(): Promise<{ code: number | null }>;
}

class StdioClient implements TestClient {
  readonly frames: Frame[] = [];
  private waiters: Array<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];
  private n = 0;
  constructor(readonly server: StdioServer) {
    // spawnStdio already parses stdout; mirror its frames as they arrive
    createInterface({ input: server.proc.stdout! }).on("line", (line) => {
      const f = JSON.parse(line) as Frame;
      this.frames.push(f);
      this.waiters = this.waiters.filter((w) => (w.match(f) ? (w.resolve(f), false) : true));
    });
  }
  request(cmd: Record<string, unknown>, timeoutMs?: number): Promise<ClientResponse> {
    const id = (cmd.id as string | undefined) ?? `auto-${++this.n}`;
    const p = this.waitFor((f) => f.type === "response" && f.id === id, timeoutMs, this.frames.length);
    this.sendRaw({ ...cmd, id });
    return p as Promise<ClientResponse>;
  }
  waitFor(match: (f: Frame) => boolean, timeoutMs = 20_000, fromIndex = 0): Promise<Frame> {
    for (let i = fromIndex; i < this.frames.length; i++) if (match(this.frames[i]!)) return Promise.resolve(this.frames[i]!);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`stdio: no matching frame within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ match, resolve: (f) => (clearTimeout(t), resolve(f)) });
    });
  }
  sendRaw(frame: string | object): void {
    this.server.write((typeof frame === "string" ? frame : JSON.stringify(frame)) + "\n");
  }
  usable(): boolean {
    return this.server.proc.exitCode === null && !this.server.proc.stdin!.destroyed;
  }
}

export async function startTransport(kind: TransportKind, opts: SpawnOptions = {}): Promise<TestServer> {
  if (kind === "websocket") {
    const server = await spawnServer(opts);
    const client = await CausewayClient.connect(server.url);
    const wrap = (c: CausewayClient) => Object.assign(c, { usable: () => c.readyState === 1 });
    return {
      kind,
      client: wrap(client),
      async connect() {
        return wrap(await CausewayClient.connect(server.url));
      },
      async stop() {
        await client.close();
        return server.stop("SIGTERM");
      },
    };
  }
  const server = spawnStdio(opts);
  const client = new StdioClient(server);
  await client.waitFor((f) => f.type === "server_ready");
  return {
    kind,
    client,
    async connect() {
      return Object.assign(client, { close: async () => undefined });
    },
    async stop() {
      server.end();
      return server.exited;
    },
  };
}
