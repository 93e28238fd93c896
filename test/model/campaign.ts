/**
 * One server process, many seeds: each seed is a fresh workload (its own ids and sessions) run
 * over WebSocket; after it, the new journal rows go through the reference model and the
 * invariant checkers, the observer's and every client's event stream is compared with the
 * journal (lifecycle events go to every connection), and every response with the model's
 * verdicts. The harness's own commands (the observer's `subscribe`, `health_check`, …) are
 * journaled like any other: they are registered with the model as sends of client -1.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { Redis } from "ioredis";
import { keyspace } from "../../src/journal/redis/keyspace.js";
import { redisProjectionPath } from "../../src/server/store.js";
import { openAuditDatabase } from "../../src/journal/sqlite-audit-reads.js";
import type { JournalRecord } from "../../src/journal/record.js";
import { startRedis, type TestRedis } from "../helpers/redis-server.js";
import { CLI, ROOT, TEST_COMMANDS, spawnServer, tempDir, type SpawnedServer } from "../helpers/spawn.js";
import { generate, type GenOptions, type Workload } from "./generator.js";
import { JournalReader, Peer, observer, runWorkload, type RunOptions } from "./harness.js";
import { canon, equal } from "./json.js";
import { checkClientOrder, checkEventsMatchJournal, checkSendOrder, JournalInvariants } from "./invariants.js";
import { ReferenceModel, type ModelOptions } from "./model.js";
import { ifSessionVersionRefused } from "./rules.js";
import { checkResponses, type SendResult } from "./responses.js";
import type { Row, Send, Violation } from "./types.js";

export interface SeedReport {
  seed: number;
  sends: number;
  rows: number;
  violations: Violation[];
  ms: number;
}

export interface CampaignOptions extends ModelOptions {
  db?: string;
  args?: string[];
  env?: Record<string, string>;
  /** load fixtures/commands/test-commands.mjs (the model then knows `emit`) */
  fixtures?: boolean;
  /**
   * the journal store: "sqlite" (default, the file `db`); "redis": a redis-server of the campaign's
   * own; or a `redis://host:port/db` URL, whose db is FLUSHed first (give the campaign a db of its own)
   */
  store?: string;
}

const dropNulls = (r: JournalRecord): Record<string, unknown> => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null && v !== undefined));

/** The store a campaign's server runs on, and the SQLite file its journal rows are read from. */
interface CampaignStore {
  /** serve flags */
  args: string[];
  /** the journal rows: the SQLite journal, or the Redis store's projection (its read model) */
  rowsFile: string;
  /** `causeway audit` flags */
  auditArgs: string[];
  url?: string;
  close(): Promise<void>;
}

async function openCampaignStore(store: string, db: string): Promise<CampaignStore> {
  if (store === "sqlite") return { args: [], rowsFile: db, auditArgs: ["--db", db], close: async () => {} };
  let own: TestRedis | undefined;
  let url = store;
  if (store === "redis") {
    own = await startRedis();
    url = own.url(0);
  } else {
    const client = new Redis(url, { lazyConnect: true });
    await client.connect();
    await client.flushdb();
    client.disconnect();
  }
  const rowsFile = redisProjectionPath({ db });
  return { args: ["--store", url], rowsFile, auditArgs: ["--store", url], url, close: async () => void (await own?.stop()) };
}

export class Campaign {
  readonly model: ReferenceModel;
  readonly invariants = new JournalInvariants();
  reader!: JournalReader;
  server!: SpawnedServer;
  observer!: Peer;
  private quiesces = 0;
  lastSeq = 0;
  readonly db: string;
  /** the commands the harness itself sent (client -1), known to the model */
  readonly harnessSends: Send[] = [];
  private boots = 0;
  private storeHandle!: CampaignStore;

  private constructor(readonly opts: CampaignOptions) {
    this.model = new ReferenceModel(opts);
    this.db = opts.db ?? join(tempDir("causeway-l5-"), "journal.db");
  }

  static async start(opts: CampaignOptions = {}): Promise<Campaign> {
    const c = new Campaign(opts);
    c.storeHandle = await openCampaignStore(opts.store ?? "sqlite", c.db);
    await c.boot();
    return c;
  }

  /** (Re)start the server on the campaign's journal (optionally with other flags). */
  async boot(args = this.opts.args): Promise<void> {
    this.server = await spawnServer({ db: this.db, commands: this.opts.fixtures === true, args: [...this.storeHandle.args, ...(args ?? [])], env: this.opts.env });
    const id = `observer-${process.pid}-${++this.boots}-${Date.now()}`;
    this.register({ type: "subscribe", id, scope: "all" });
    this.observer = await observer(this.server.url, id);
    this.reader ??= new JournalReader(this.storeHandle.rowsFile);
  }

  /** `causeway audit` flags for this campaign's journal (its file, or its Redis store) */
  get auditArgs(): string[] {
    return this.storeHandle.auditArgs;
  }

  /**
   * On Redis: the journal stream (XRANGE, field `r`) equals the projection's journal, record for
   * record — what the model checked is what Redis holds. No violation on SQLite.
   */
  async redisMirror(): Promise<Violation[]> {
    const url = this.storeHandle.url;
    if (url === undefined) return [];
    const client = new Redis(url, { lazyConnect: true });
    await client.connect();
    const reads = openAuditDatabase(this.storeHandle.rowsFile);
    try {
      const entries = await client.xrange(keyspace("causeway").journal, "-", "+");
      const inRedis = entries.map(([id, f]) => ({ id, r: JSON.parse(f[f.indexOf("r") + 1]!) as JournalRecord }));
      const { lastSeq } = reads.bounds();
      const projected = reads.readPage({ afterSeq: 0, toSeq: lastSeq, limit: lastSeq + 1 });
      const out: Violation[] = [];
      if (inRedis.length !== projected.length) out.push({ invariant: "redis_mirror", message: `the Redis journal holds ${inRedis.length} records, the projection ${projected.length}` });
      for (let i = 0; i < Math.min(inRedis.length, projected.length); i++) {
        const { id, r } = inRedis[i]!;
        // a null field and an absent one are the same record (the projection's columns hold null)
        if (id !== `${r.seq}-0` || !equal(dropNulls(r), dropNulls(projected[i]!))) {
          out.push({ invariant: "redis_mirror", message: `record #${i + 1}: Redis ${id} ${canon(r)}, projection ${canon(projected[i])}` });
          if (out.length >= 5) break;
        }
      }
      return out;
    } finally {
      reads.close();
      client.disconnect();
    }
  }

  /** Tell the model about a command the harness sends itself. */
  register(env: Send["env"]): void {
    const send: Send = { client: -1, index: this.harnessSends.length, env, racyDeps: false };
    this.harnessSends.push(send);
    this.model.addSends([send]);
  }

  /** A command of the harness over the observer's connection (journaled like any other). */
  request(env: Send["env"], ms?: number): Promise<Record<string, any>> {
    this.register(env);
    return this.observer.request(env, ms);
  }

  get url(): string {
    return this.server.url;
  }

  /**
   * Wait until nothing is in flight. A command failed by a journal fault is answered
   * `journal_unavailable` at once, and its terminal repair row commits with a later batch: the
   * journal is complete only once the server holds no command (health_check leaves itself out).
   */
  async quiesce(): Promise<void> {
    for (let i = 0; i < 50; i++) {
      const h = await this.request({ type: "health_check", id: `quiesce-${process.pid}-${this.boots}-${++this.quiesces}` });
      if (h.success === true && h.data?.inFlight === 0) return;
      await this.observer.next((f) => f.type === "command_finished", 1_000).catch(() => undefined);
    }
  }

  /** Ingest every journal row committed since the last call. */
  sync(): Row[] {
    const rows = this.reader.after(this.lastSeq);
    if (rows.length > 0) this.lastSeq = rows[rows.length - 1]!.seq;
    this.model.ingest(rows);
    this.invariants.ingest(rows);
    return rows;
  }

  /** Wait until the observer has the events of every published row up to `seq`. */
  async observed(rows: Row[]): Promise<void> {
    const published = rows.filter((r) => r.phase !== "requeued");
    if (published.length === 0) return;
    const max = published[published.length - 1]!.seq;
    const has = (): boolean => this.observer.frames.some((f) => f.data?.seq === max);
    if (!has()) await this.observer.next((f) => f.data?.seq === max, 10_000).catch(() => undefined);
  }

  async runSeed(seed: number, gen: GenOptions = {}, run: RunOptions = {}): Promise<SeedReport> {
    const t0 = Date.now();
    const wl = generate(seed, gen);
    return this.check(wl, run, t0);
  }

  async check(wl: Workload, run: RunOptions, t0 = Date.now()): Promise<SeedReport & { results: SendResult[] }> {
    const mv = this.model.violations.length;
    const iv = this.invariants.violations.length;
    const obsFrom = this.observer.frames.length;
    this.model.addSends(wl.sends);
    const res = await runWorkload(this.url, wl, run);
    if (this.opts.journalFaults) await this.quiesce();
    const rows = this.sync();
    await this.observed(rows);
    this.invariants.quiescent();
    const violations: Violation[] = [
      ...this.model.violations.slice(mv),
      ...this.invariants.violations.slice(iv),
      ...checkResponses(this.model, res.results, { ...this.opts, lossy: res.lossy, partial: run.partial }),
      ...checkEventsMatchJournal(rows, this.observer.frames.slice(obsFrom)),
      // without authentication every connection hears every lifecycle event: each client's
      // stream is the journal, row for row, over the time it was connected
      ...res.peers.flatMap((p, c) => [...checkClientOrder(c, p.frames), ...checkEventsMatchJournal(rows, p.frames).map((x) => ({ ...x, message: `client ${c}: ${x.message}` }))]),
      ...checkSendOrder(this.model, res.results),
      ...this.finalStates(wl),
    ];
    await Promise.all(res.peers.map((p) => p.close()));
    return { seed: wl.seed, sends: wl.sends.length, rows: rows.length, violations, ms: Date.now() - t0, results: res.results };
  }

  /** The model's final state and version of each session equal the server's (sessions table). */
  finalStates(wl: Workload): Violation[] {
    const out: Violation[] = [];
    const table = new Map(this.reader.sessions().map((s) => [s.sessionId, s]));
    for (const sid of wl.sessions) {
      const m = this.model.sessions.get(sid);
      const t = table.get(sid);
      const live = t && !t.deleted ? t : undefined;
      if (!m && !live) continue;
      if (!m || !live) out.push({ invariant: "final_state_drift", message: `session ${sid}: model ${m ? "exists" : "absent"}, server ${live ? "exists" : "absent"}` });
      else if (m.version !== live.version || !equal(m.state, live.state)) {
        out.push({ invariant: "final_state_drift", message: `session ${sid}: model v${m.version} ${canon(m.state)}, server v${live.version} ${canon(live.state)}` });
      }
    }
    return out;
  }

  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    await this.observer?.close().catch(() => undefined);
    await this.server.stop(signal);
  }

  /** Close the reader and stop the campaign's own redis-server (if any): after stop(). */
  async close(): Promise<void> {
    this.reader?.close();
    await this.storeHandle?.close();
  }
}

export function replayHint(seed: number, file = "test/assurance/differential.test.ts", env = "FUZZ_SEED"): string {
  return `replay: ${env}=${seed} npx vitest run ${file}` + (file.endsWith("differential.test.ts") ? `   (or: npm run fuzz -- --seed ${seed})` : "");
}

/**
 * Every command a client saw finish (its own outcome, not a refusal before admission and not
 * journal_unavailable) is re-sent with the same id: the answer must be a replay of exactly that
 * outcome. Returns the retry workload and a checker for its results.
 */
export function unchangedCheck(results: SendResult[], model: ReferenceModel): { wl: Workload; verify(after: SendResult[]): Violation[] } {
  const seen = new Map<string, { env: Send["env"]; outcome: Record<string, unknown> }>();
  for (const { send, response } of results) {
    const f = response?.frame;
    if (!f || f.replayed || ["journal_unavailable", "dependency_cycle", "replay_conflict"].includes(f.code) || ifSessionVersionRefused(send.env)) continue;
    if (seen.has(send.env.id)) continue;
    // the frame that was executed under this id (a client may also have sent another payload)
    const env = model.originalSend(send.env.id)?.env;
    if (!env) continue;
    const { type: _t, id: _i, ...outcome } = f;
    seen.set(send.env.id, { env, outcome });
  }
  const sends: Send[] = [...seen.values()].map((x, i) => ({ client: 0, index: i, env: x.env, racyDeps: true }));
  const wl: Workload = { seed: -1, clients: 1, sessions: [], steps: [...sends.map((send) => ({ kind: "send" as const, send })), { kind: "barrier" }], sends };
  return {
    wl,
    verify(after) {
      const out: Violation[] = [];
      for (const { send, response } of after) {
        const before = seen.get(send.env.id)!;
        const f = response?.frame;
        const { type: _t, id: _i, replayed, ...outcome } = f ?? {};
        if (!f || replayed !== true || !equal(outcome, before.outcome)) {
          out.push({ invariant: "acknowledged_unchanged", commandId: send.env.id, message: `saw ${canon(before.outcome)}, a retry now answers ${f ? canon(f) : "nothing"}` });
        }
      }
      return out;
    },
  };
}

/** Run `causeway audit --json` on a journal (a file, or `Campaign.auditArgs`); its violations (empty when it exits 0). */
export function audit(db: string | string[], fixtures = false): Violation[] {
  const where = typeof db === "string" ? ["--db", db] : db;
  const res = spawnSync(process.execPath, [CLI, "audit", ...where, ...(fixtures ? ["--commands", TEST_COMMANDS] : []), "--json"], { cwd: ROOT, encoding: "utf8" });
  if (res.status === 0) return [];
  let detail = `${res.stdout.slice(0, 800)}${res.stderr.slice(0, 800)}`;
  try {
    const report = JSON.parse(res.stdout) as { violations?: Array<Record<string, any>> };
    const rest = report.violations ?? [];
    detail = rest.slice(0, 5).map((v) => JSON.stringify(v)).join("\n    ");
  } catch {
    // not JSON: keep the raw output
  }
  return [{ invariant: "audit", message: `causeway audit exit ${res.status}:\n    ${detail}` }];
}
