/**
 * WAL checkpoints off the main thread. By default SQLite checkpoints inside the COMMIT that pushes
 * the WAL past 1000 pages: that commit (and every lane waiting on it) then also copies those pages
 * into the database file and fsyncs it. Here a worker thread holds its own connection and runs a
 * PASSIVE checkpoint every `intervalMs` (it copies what no reader still needs and never blocks the
 * writer), while the writer's own automatic checkpoint is raised to `SAFETY_PAGES`: it runs only if
 * the worker falls that far behind (stuck, or a long reader pins the WAL), so the WAL stays bounded.
 * A worker that fails or exits puts the writer's automatic checkpoint back to SQLite's 1000 pages.
 *
 * The WAL restarts (is written from its start again) only when a write transaction begins after a
 * checkpoint copied ALL of it. Under sustained load the worker never gets there (the writer appends
 * while the worker copies), and the WAL would grow to the safety bound. So the writer finishes the
 * job: once the WAL holds `RESTART_PAGES` and the worker has copied all but a few of its frames, the
 * writer (between two commits) runs one PASSIVE checkpoint for the rest; its next commit restarts the
 * WAL. That costs the writer a copy of those few frames and one fsync of the database file.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type Database from "better-sqlite3";
import type { StoreLog } from "./types.js";

/** the writer's automatic checkpoint while the worker runs: 16384 pages (64 MiB of 4 KiB pages) */
export const SAFETY_PAGES = 16_384;
/** SQLite's default, restored when the worker is gone */
export const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;
/** a WAL this long is restarted once the worker has copied nearly all of it (8 MiB of 4 KiB pages) */
export const RESTART_PAGES = 2048;
/** a restarted WAL file is truncated to this (SQLite's journal_size_limit), so it does not keep its high-water size */
export const WAL_SIZE_LIMIT_BYTES = 32 * 2 ** 20;

export interface CheckpointerOptions {
  path: string;
  intervalMs: number;
  /** the writer's `synchronous` setting: the checkpoint fsyncs the database file as the writer would */
  synchronous: string;
  busyTimeoutMs: number;
  log?: StoreLog;
}

export interface CheckpointStats {
  running: boolean;
  /** checkpoints that copied at least one page */
  checkpoints: number;
  /** WAL frames copied into the database file */
  framesCheckpointed: number;
  /** checkpoints the writer ran to finish a long WAL the worker had nearly copied (so it restarts) */
  writerFinishes: number;
  /** frames in the WAL at the worker's last report (it falls back after a restart) */
  walFrames: number;
  lastError: string | null;
}

// CommonJS, evaluated in the worker: one connection, a PASSIVE checkpoint per tick; reports progress
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.sqlite);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma("busy_timeout = " + workerData.busyTimeoutMs);
db.pragma("synchronous = " + workerData.synchronous);
let done = 0;
const tick = () => {
  try {
    const row = db.pragma("wal_checkpoint(PASSIVE)")[0];
    // 'checkpointed' counts the frames backfilled so far in this WAL generation; report the growth
    if (row.checkpointed < done) done = 0;
    if (row.checkpointed > done) {
      parentPort.postMessage({ frames: row.checkpointed - done, log: row.log, checkpointed: row.checkpointed });
      done = row.checkpointed;
    }
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
};
const timer = setInterval(tick, workerData.intervalMs);
parentPort.on("message", (m) => {
  if (m === "tick") return tick();
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export class Checkpointer {
  private worker: Worker | null = null;
  private readonly s: CheckpointStats = { running: false, checkpoints: 0, framesCheckpointed: 0, writerFinishes: 0, walFrames: 0, lastError: null };
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly writer: Database.Database,
    private readonly opts: CheckpointerOptions,
  ) {}

  start(): void {
    const sqlite = createRequire(import.meta.url).resolve("better-sqlite3");
    const { path, intervalMs, synchronous, busyTimeoutMs } = this.opts;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { sqlite, path, intervalMs, synchronous, busyTimeoutMs } });
    worker.unref();
    worker.on("message", (m: { frames?: number; log?: number; checkpointed?: number; error?: string }) => {
      if (m.error !== undefined) this.s.lastError = m.error;
      if (m.frames) {
        this.s.checkpoints++;
        this.s.framesCheckpointed += m.frames;
      }
      if (m.log !== undefined && m.checkpointed !== undefined) {
        this.s.walFrames = m.log;
        this.finishLongWal(m.log, m.checkpointed);
      }
      for (const l of this.listeners) l();
    });
    worker.on("error", (err) => this.gone(`failed: ${err.message}`));
    worker.on("exit", (code) => this.gone(`exited with code ${code}`));
    this.worker = worker;
    this.s.running = true;
    this.writer.pragma(`wal_autocheckpoint = ${SAFETY_PAGES}`);
    this.writer.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  }

  stats(): CheckpointStats {
    return { ...this.s };
  }

  /** Resolves at the next report of the worker (a checkpoint that copied pages, or an error). */
  nextReport(): Promise<void> {
    return new Promise((resolve) => {
      const l = (): void => {
        this.listeners.delete(l);
        resolve();
      };
      this.listeners.add(l);
      this.worker?.postMessage("tick");
    });
  }

  /** Stop the worker (the store closes): the writer checkpoints on its own again. */
  async stop(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.worker = null;
    this.s.running = false;
    const exited = new Promise<void>((resolve) => w.once("exit", () => resolve()));
    w.postMessage("stop");
    await exited;
  }

  /** test-only: end the worker as a crash would */
  async terminateForTest(): Promise<void> {
    await this.worker?.terminate();
  }

  /** A long WAL the worker has nearly copied: the writer copies the rest, so its next commit restarts the WAL. */
  private finishLongWal(log: number, checkpointed: number): void {
    if (log < RESTART_PAGES || log - checkpointed > Math.max(256, log >> 3) || !this.writer.open) return;
    try {
      this.writer.pragma("wal_checkpoint(PASSIVE)");
      this.s.writerFinishes++;
    } catch (err) {
      this.s.lastError = err instanceof Error ? err.message : String(err);
    }
  }

  private gone(why: string): void {
    if (!this.worker) return; // stopped on purpose
    this.worker = null;
    this.s.running = false;
    this.s.lastError = why;
    if (this.writer.open) this.writer.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
    this.opts.log?.warn({ db: this.opts.path, why }, `the WAL checkpoint worker ${why}; the writer checkpoints by itself again (every ${DEFAULT_AUTOCHECKPOINT_PAGES} pages)`);
  }
}
