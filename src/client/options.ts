/** What `connect()`, `send()` and `events()` accept, and the states a connection goes through. */
import type { ChildProcess } from "node:child_process";

export type ConnectTarget = string | { url: string } | { spawn: string[]; cwd?: string; env?: NodeJS.ProcessEnv };

export interface ReconnectOptions {
  /** first delay after a drop, ms (default 100) */
  initialDelayMs?: number;
  /** longest delay between attempts, ms (default 5000) */
  maxDelayMs?: number;
  /** delay multiplier per failed attempt (default 2) */
  factor?: number;
  /** ± this fraction of random jitter on each delay (default 0.2) */
  jitter?: number;
  /** give up (and fail everything unanswered) after this many failed attempts in a row (default: never) */
  maxAttempts?: number;
}

export interface ConnectOptions {
  /** default client-side timeout of `send`, ms; 0 = none (default 30000) */
  timeoutMs?: number;
  /** how long opening a connection (until `server_ready`) may take, ms (default 15000) */
  connectTimeoutMs?: number;
  /** reconnect after a drop (default true) */
  reconnect?: boolean | ReconnectOptions;
  /** WebSocket: `Authorization: Bearer <token>` */
  token?: string;
  /** WebSocket: extra HTTP headers on the upgrade request */
  headers?: Record<string, string>;
  /** WebSocket: ping interval; a server that misses a pong is treated as gone (default 15000; 0 = off) */
  pingIntervalMs?: number;
  /** spawn: where the server's stderr (logs) goes (default "inherit") */
  stderr?: "inherit" | "ignore" | "pipe";
  /** spawn: called with every spawned server process */
  onSpawn?: (child: ChildProcess) => void;
  /** prefix of generated ids (default "c-") */
  idPrefix?: string;
  /** generate an idempotencyKey for commands without one (default true) */
  idempotencyKeys?: boolean;
}

export interface SendOptions {
  /** client-side timeout for this command, ms (0 = none); default: the client's `timeoutMs` */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface EventsOptions {
  /** yield events with `seq` greater than this; default: from now on */
  fromSeq?: number;
  /** only this session's lane (default: every lane) */
  sessionId?: string;
  signal?: AbortSignal;
  /** events buffered for a slow consumer before the stream pauses and later resumes from the journal (default 10000) */
  maxBuffered?: number;
}

export type ClientState = "connecting" | "open" | "reconnecting" | "closed";
