/**
 * The Redis keyspace of one journal (docs/redis-store.md lists it). Every key of a journal lives
 * under `cw:{<name>}:` — ONE hash tag — so a batch script may touch any of them: one journal is one
 * slot, even on Redis Cluster, and the keys of one command share that hash tag.
 */

/** the value encoding of the records and materialized keys this code writes (meta.encoding) */
export const REDIS_ENCODING = 1;

/** the journal name when neither the options nor the URL name one */
export const DEFAULT_JOURNAL_NAME = "causeway";

export interface Keyspace {
  /** `cw:{<name>}:` */
  readonly prefix: string;
  /** hash: encoding, journalId, createdAt */
  readonly meta: string;
  /** stream: one entry per record, id `<seq>-0`, fields v (encoding) and r (record JSON) */
  readonly journal: string;
  /** string: the last seq */
  readonly seq: string;
  /** hash: lane → last laneSeq */
  readonly lanes: string;
  /** string: the next fencing number (INCR) */
  readonly fence: string;
  /** hash: lane → "<node>|<token>", its owner on a journal shared by several nodes (lanes-script.ts) */
  readonly owners: string;
  /** hash: the retention checkpoint (seq, v, base: the projection base as of seq), written by compaction */
  readonly checkpoint: string;
}

/** A journal name may not hold the hash-tag braces. */
export function keyspace(name: string): Keyspace {
  if (name.length === 0 || /[{}]/.test(name)) throw new Error(`invalid Redis journal name ${JSON.stringify(name)}: non-empty, without { or }`);
  const prefix = `cw:{${name}}:`;
  return { prefix, meta: `${prefix}meta`, journal: `${prefix}journal`, seq: `${prefix}seq`, lanes: `${prefix}lanes`, fence: `${prefix}fence`, owners: `${prefix}owners`, checkpoint: `${prefix}checkpoint` };
}

/** The lease key of a lease `name` ("journal", or "node:<node>" on a shared journal) and its holder hash. */
export function leaseKeys(ks: Keyspace, name: string): { lease: string; holder: string } {
  return { lease: `${ks.prefix}lease:${name}`, holder: `${ks.prefix}lease:${name}:holder` };
}

/** The URL as stats and logs show it: without user and password. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return "redis://<invalid url>";
  }
}

/** KEYS: meta. ARGV: encoding, a new journalId, now. Creates the meta hash once; replies HGETALL meta. */
export const META_LUA = String.raw`
if redis.call('HEXISTS', KEYS[1], 'journalId') == 0 then
  redis.call('HSET', KEYS[1], 'encoding', ARGV[1], 'journalId', ARGV[2], 'createdAt', ARGV[3])
end
return redis.call('HGETALL', KEYS[1])
`;

/** A node's mailbox (a list): decisions forwarded to it, and the answers to the ones it forwarded (mailbox.ts). */
export function mailboxKey(ks: Keyspace, node: string): string {
  return `${ks.prefix}mailbox:${node}`;
}
