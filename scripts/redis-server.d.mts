/** Types of scripts/redis-server.mjs: a real redis-server on a free loopback port (tests and bench). */
export declare const REDIS_SERVER_BIN: string;
/** Whether a redis-server binary is on this machine. */
export declare function redisServerAvailable(): boolean;
export interface TestRedis {
  readonly port: number;
  readonly dir: string;
  /** `redis://127.0.0.1:<port>/<db>` */
  url(db?: number): string;
  /** the running process's pid */
  pid(): number;
  /** SIGKILL the server (what survives is what its AOF fsynced), then start it again on the same dir and port */
  restart(): Promise<void>;
  /** SIGKILL and remove the data dir */
  stop(): Promise<void>;
}
export interface StartRedisOptions {
  /** extra `--name value…` arguments, e.g. { appendfsync: "everysec" }; an array for a directive of several values */
  config?: Record<string, string | string[]>;
}
/** Start a fresh redis-server (retrying on a port lost to a race). */
export declare function startRedis(opts?: StartRedisOptions): Promise<TestRedis>;
