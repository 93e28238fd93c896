/**
 * Identities (issue 5) acceptance, against the real server process: bearer tokens checked at the
 * WebSocket upgrade (a wrong, missing or malformed token is closed with 1008 before any frame, and
 * audited without the token), the token's actor journaled on its commands, stdio and open-loopback
 * WebSocket running as the configured local actor, and the bind rule (a non-loopback host needs a
 * tokens file or --insecure).
 */
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { hashToken } from "../../src/auth/tokens.js";
import { runServerToExit, spawnServer, spawnStdio, tempDir, type SpawnedServer } from "../helpers/spawn.js";

type Frame = Record<string, any>;

const ALICE_TOKEN = `alice-${"a".repeat(40)}-secret`;
const BOB_TOKEN = `bob-${"b".repeat(40)}-secret`;
const WRONG_TOKEN = `wrong-${"w".repeat(40)}-secret`;

function writeTokensFile(dir: string): string {
  const file = join(dir, "tokens.json");
  writeFileSync(
    file,
    JSON.stringify({
      version: 1,
      tokens: [
        { sha256: hashToken(ALICE_TOKEN), actor: "alice", roles: ["approver"], comment: "test" },
        { sha256: hashToken(BOB_TOKEN), actor: "bob", roles: [] },
      ],
    }),
  );
  return file;
}

/** A raw `ws` client that records every frame and how the socket closed. */
class RawClient {
  readonly frames: Frame[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];
  private static n = 0;

  constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const f = JSON.parse(data.toString()) as Frame;
      this.frames.push(f);
      this.waiters = this.waiters.filter((w) => (w.match(f) ? (w.resolve(f), false) : true));
    });
    this.opened = once(ws, "open").then(() => undefined);
    this.closed = once(ws, "close").then(([code, reason]) => ({ code: code as number, reason: String(reason) }));
    // a refused upgrade would surface here; the assertions on `closed` report it
    ws.on("error", () => {});
  }

  static connect(url: string, authorization?: string): RawClient {
    return new RawClient(new WebSocket(url, authorization === undefined ? {} : { headers: { authorization } }));
  }

  waitFor(match: (f: Frame) => boolean, timeoutMs = 20_000): Promise<Frame> {
    const hit = this.frames.find(match);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`)), timeoutMs);
      this.waiters.push({ match, resolve: (f) => (clearTimeout(t), resolve(f)) });
    });
  }

  request(cmd: Frame): Promise<Frame> {
    // every command, reads included, is journaled with its id: ids are unique across clients
    const id = (cmd.id as string | undefined) ?? `r${++RawClient.n}`;
    const p = this.waitFor((f) => f.type === "response" && f.id === id);
    this.ws.send(JSON.stringify({ ...cmd, id }));
    return p;
  }

  async close(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close();
    await this.closed;
  }
}

/** Resolves once a stderr line of `server` matches (checking the lines already read first). */
function stderrLine(server: SpawnedServer, match: (line: string) => boolean, timeoutMs = 20_000): Promise<string> {
  const hit = server.stderr.find(match);
  if (hit !== undefined) return Promise.resolve(hit);
  return new Promise((resolve, reject) => {
    const stream = server.proc.stderr!;
    const t = setTimeout(() => {
      stream.removeListener("data", onData);
      reject(new Error(`no matching stderr line within ${timeoutMs} ms:\n${server.stderr.join("\n")}`));
    }, timeoutMs);
    function onData(): void {
      // spawnServer's readline listener was attached first, so the chunk's lines are already in server.stderr
      const line = server.stderr.find(match);
      if (line === undefined) return;
      clearTimeout(t);
      stream.removeListener("data", onData);
      resolve(line);
    }
    stream.on("data", onData);
  });
}

const json = (line: string): Frame | null => {
  try {
    return JSON.parse(line) as Frame;
  } catch {
    return null;
  }
};

/** the `actor` journaled for a command (observable through get_command) */
async function journaledActor(client: RawClient, commandId: string): Promise<string> {
  const r = await client.request({ type: "get_command", commandId });
  expect(r.success, JSON.stringify(r)).toBe(true);
  expect(r.data.found).toBe(true);
  return r.data.command.actor as string;
}

describe("with a tokens file, on a non-loopback host (--host 0.0.0.0 --tokens)", () => {
  let server: SpawnedServer;
  let stdout = "";

  beforeAll(async () => {
    const dir = tempDir("causeway-auth-");
    server = await spawnServer({ db: join(dir, "causeway.db"), args: ["--host", "0.0.0.0", "--tokens", writeTokensFile(dir)] });
    server.proc.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  });

  afterAll(async () => {
    const exit = await server?.stop();
    expect(exit?.code).toBe(0);
  });

  it("starts, and says that clients authenticate with bearer tokens", async () => {
    const line = json(await stderrLine(server, (l) => l.includes("bearer tokens")));
    expect(line).toMatchObject({ tokens: 2 });
  });

  it("accepts the right token: server_ready, health_check, and commands journaled as the token's actor", async () => {
    const alice = RawClient.connect(server.url, `Bearer ${ALICE_TOKEN}`);
    const ready = await alice.waitFor((f) => f.type === "server_ready");
    expect(ready.data.protocolVersion).toBe("1.0.0");
    expect(await alice.request({ type: "health_check" })).toMatchObject({ success: true });

    const sessionId = `auth-${Date.now().toString(36)}`;
    expect(await alice.request({ type: "create_session", id: `create-${sessionId}`, sessionId })).toMatchObject({ success: true });
    expect(await journaledActor(alice, `create-${sessionId}`)).toBe("alice");

    // a second token is a second actor, on the same server
    const bob = RawClient.connect(server.url, `Bearer ${BOB_TOKEN}`);
    await bob.waitFor((f) => f.type === "server_ready");
    expect(await bob.request({ type: "set", id: `set-${sessionId}`, sessionId, path: "/by", value: "bob" })).toMatchObject({ success: true });
    expect(await journaledActor(bob, `set-${sessionId}`)).toBe("bob");
    // the history filters on it
    const byAlice = (await bob.request({ type: "get_command_history", actor: "alice" })).data.items.map((i: Frame) => i.commandId);
    expect(byAlice).toContain(`create-${sessionId}`);
    expect(byAlice).not.toContain(`set-${sessionId}`);

    const ok = json(await stderrLine(server, (l) => json(l)?.audit === "auth_ok" && json(l)?.actor === "bob"));
    expect(ok).toMatchObject({ level: 30, audit: "auth_ok", actor: "bob" });
    expect(typeof ok!.connectionId).toBe("string");
    await Promise.all([alice.close(), bob.close()]);
  });

  it.each([
    ["a wrong token", `Bearer ${WRONG_TOKEN}`, "unknown_token"],
    ["no Authorization header", undefined, "missing"],
    ["a malformed header", `Basic ${Buffer.from(`alice:${ALICE_TOKEN}`).toString("base64")}`, "malformed"],
  ])("refuses %s at upgrade: close 1008 'unauthorized', no frame, an auth_failed audit line", async (_name, authorization, reason) => {
    const before = server.stderr.length;
    const client = RawClient.connect(server.url, authorization);
    // fail fast (instead of timing out) if the server lets the client in
    const closed = await Promise.race([client.closed, client.waitFor(() => true).then((f) => ({ unexpectedFrame: f }))]);
    expect(closed).toEqual({ code: 1008, reason: "unauthorized" });
    expect(client.frames).toEqual([]);
    const audit = json(await stderrLine(server, (l) => server.stderr.indexOf(l) >= before && json(l)?.audit === "auth_failed" && json(l)?.reason === reason));
    expect(audit).toMatchObject({ level: 40, audit: "auth_failed", reason });
    expect(typeof audit!.remoteAddress).toBe("string");
    expect(typeof audit!.connectionId).toBe("string");
  });

  it("never writes a presented token to its logs or stdout", async () => {
    const before = server.stderr.length;
    const client = RawClient.connect(server.url, `Bearer ${WRONG_TOKEN}`);
    expect(await client.closed).toEqual({ code: 1008, reason: "unauthorized" });
    // its audit line is out: everything the server logged about this attempt is in hand
    await stderrLine(server, (l) => server.stderr.indexOf(l) >= before && json(l)?.audit === "auth_failed");
    const all = server.stderr.join("\n") + stdout;
    for (const secret of [ALICE_TOKEN, BOB_TOKEN, WRONG_TOKEN, Buffer.from(`alice:${ALICE_TOKEN}`).toString("base64")]) expect(all).not.toContain(secret);
    expect(stdout).toBe("");
  });
});

describe("bind rule", () => {
  it("refuses a non-loopback host without auth: exit 2, naming the host and the two ways out", async () => {
    const r = await runServerToExit({ args: ["--host", "0.0.0.0"] });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^causeway: refusing to listen on non-loopback host "0\.0\.0\.0" without authentication: .*--tokens <file>.*--insecure/m);
    expect(r.stderr).not.toMatch(/listening on/);
  });

  it("refuses to start on an invalid tokens file, naming the file, the entry and the problem", async () => {
    const dir = tempDir("causeway-auth-");
    const file = join(dir, "tokens.json");
    writeFileSync(file, JSON.stringify({ version: 1, tokens: [{ sha256: "nothex", actor: "alice", roles: [] }] }));
    const r = await runServerToExit({ args: ["--tokens", file] });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`causeway: tokens file ${file}: /tokens/0/sha256: must match pattern "^[0-9a-f]{64}$"`);
  });

  it("starts open on a non-loopback host with --insecure, warns, and every client is the local actor", async () => {
    const server = await spawnServer({ args: ["--host", "0.0.0.0", "--insecure", "--local-actor", "ops", "--local-roles", "admin"] });
    try {
      const warn = json(await stderrLine(server, (l) => json(l)?.audit === "insecure_bind"));
      expect(warn).toMatchObject({ level: 40, host: "0.0.0.0", actor: "ops" });
      // no tokens file: a header is ignored, not checked
      const client = RawClient.connect(server.url, `Bearer ${WRONG_TOKEN}`);
      await client.waitFor((f) => f.type === "server_ready");
      const sessionId = `open-${Date.now().toString(36)}`;
      expect(await client.request({ type: "create_session", id: `c-${sessionId}`, sessionId })).toMatchObject({ success: true });
      expect(await journaledActor(client, `c-${sessionId}`)).toBe("ops");
      await client.close();
    } finally {
      expect((await server.stop()).code).toBe(0);
    }
  });
});

describe("stdio", () => {
  it("runs as the configured local actor", async () => {
    const s = spawnStdio({ args: ["--local-actor", "batch-job", "--local-roles", "admin,approver"] });
    await s.waitFor((f) => f.type === "server_ready");
    const created = await s.request({ type: "create_session", id: "c1", sessionId: "stdio-actor" });
    expect(created).toMatchObject({ success: true });
    const got = (await s.request({ type: "get_command", id: "g1", commandId: "c1" })) as Frame;
    expect(got.data.command.actor).toBe("batch-job");
    s.end();
    expect((await s.exited).code).toBe(0);
  });
});
