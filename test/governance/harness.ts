/**
 * A governed causeway for the governance tests: a real server process with a tokens file of four
 * identities and fixtures/governance/policy.test.json, and WebSocket clients that authenticate
 * as each of them.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { hashToken } from "../../src/auth/tokens.js";
import { redisProjectionPath } from "../../src/server/store.js";
import { CausewayClient, type Frame } from "../helpers/ws-client.js";
import { ROOT, spawnServer, tempDir, type SpawnedServer } from "../helpers/spawn.js";

export const POLICY = join(ROOT, "fixtures/governance/policy.test.json");

/** alice: admin (the requester of admin-only commands); bob, carol: approvers; dave: no roles */
export const IDENTITIES = {
  alice: { token: `alice-token-${"a".repeat(32)}`, roles: ["admin"] },
  bob: { token: `bob-token-${"b".repeat(32)}`, roles: ["approver"] },
  carol: { token: `carol-token-${"c".repeat(32)}`, roles: ["approver"] },
  dave: { token: `dave-token-${"d".repeat(32)}`, roles: [] as string[] },
} as const;
export type Who = keyof typeof IDENTITIES;

export interface Governed {
  server: SpawnedServer;
  dir: string;
  db: string;
  /** the SQLite file holding the journal rows: `db`, or on the Redis store its projection */
  rowsFile: string;
  args: string[];
  connect(who: Who): Promise<CausewayClient>;
  stop(): Promise<void>;
}

export function writeTokens(dir: string): string {
  const file = join(dir, "tokens.json");
  const tokens = Object.entries(IDENTITIES).map(([actor, id]) => ({ sha256: hashToken(id.token), actor, roles: [...id.roles] }));
  writeFileSync(file, JSON.stringify({ version: 1, tokens }));
  return file;
}

/** `args`: more server flags (e.g. limits); `store`: a `redis://` URL serves on the Redis store (#18) */
export async function startGoverned(opts: { dir?: string; policy?: string; args?: string[]; store?: string } = {}): Promise<Governed> {
  const dir = opts.dir ?? tempDir("causeway-gov-");
  const db = join(dir, "causeway.db");
  const onStore = opts.store !== undefined ? ["--store", opts.store] : [];
  const args = ["--tokens", writeTokens(dir), "--policy-file", opts.policy ?? POLICY, ...onStore, ...(opts.args ?? [])];
  const server = await spawnServer({ db, args });
  const clients: CausewayClient[] = [];
  return {
    server,
    dir,
    db,
    rowsFile: opts.store !== undefined ? redisProjectionPath({ db }) : db,
    args,
    async connect(who) {
      const c = await CausewayClient.connect(server.url, { headers: { authorization: `Bearer ${IDENTITIES[who].token}` } });
      await c.waitFor((f) => f.type === "server_ready");
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.terminate();
      await server.stop();
    },
  };
}

/** The response frame of `cmd` as a plain object. */
/** a response frame whose data the tests read field by field (assertions check the shapes) */
export type Reply = Omit<Frame, "data"> & { data?: any };

export async function send(c: CausewayClient, cmd: Record<string, unknown>): Promise<Reply> {
  return (await c.request(cmd)) as unknown as Reply;
}

/** Send a command whose response comes only when it is terminal; resolves once it is pending. */
export async function sendPending(c: CausewayClient, cmd: Record<string, unknown> & { id: string }): Promise<{ pending: Reply; response: Promise<Reply> }> {
  const response = c.request(cmd, 60_000) as unknown as Promise<Reply>;
  response.catch(() => {}); // a test may drop the connection (restart) and never await it
  const pending = await c.waitFor((f) => f.type === "command_pending" && (f.data as { commandId?: string }).commandId === cmd.id);
  return { pending: pending as Reply, response };
}

export interface JournalTransition {
  seq: number;
  command_id: string;
  phase: string;
  status: string | null;
  revision: number | null;
}

/** Every row of the journal (read-only, alongside the running server). */
export function journalRows(db: string): JournalTransition[] {
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return d.prepare("SELECT seq, command_id, phase, status, revision FROM journal ORDER BY seq").all() as JournalTransition[];
  } finally {
    d.close();
  }
}
