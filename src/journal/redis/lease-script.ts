/**
 * A lease in Redis with a fencing token: `SET <lease> <token> NX PX <ttl>`, the token
 * `<fence>:<uuid>` with `fence` an INCRed number (a later holder always has a higher one). The
 * holder hash (pid, host, startedAt, heartbeatAt) stays until a clean release, so the next holder
 * learns that it took over a crashed one. Written for any lease name: the journal's single-writer
 * lease today, a lane's lease later (keyspace.ts leaseKeys).
 *
 * KEYS: lease, holder, fence.
 */

/**
 * ARGV: uuid, ttl ms, pid, host, now, and the token of a live lease to take over ('' for none: a
 * holder known dead, or a forced takeover; only that exact token is replaced, so a holder that
 * renewed or changed meanwhile still refuses). Reply {"ok", token, previous holder fields…} |
 * {"locked", holder fields…}.
 */
export const ACQUIRE_LUA = String.raw`
if redis.call('EXISTS', KEYS[1]) == 1 and (ARGV[6] == '' or redis.call('GET', KEYS[1]) ~= ARGV[6]) then return {'locked', unpack(redis.call('HGETALL', KEYS[2]))} end
local prev = redis.call('HGETALL', KEYS[2])
local token = redis.call('INCR', KEYS[3]) .. ':' .. ARGV[1]
redis.call('SET', KEYS[1], token, 'PX', ARGV[2])
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'pid', ARGV[3], 'host', ARGV[4], 'startedAt', ARGV[5], 'heartbeatAt', ARGV[5], 'token', token)
return {'ok', token, unpack(prev)}
`;

/** ARGV: token, ttl ms, now. 1: renewed; 0: the lease is not ours any more. */
export const RENEW_LUA = String.raw`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], 'heartbeatAt', ARGV[3])
return 1
`;

/** ARGV: token. 1: released; 0: it was not ours. */
export const RELEASE_LUA = String.raw`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
`;

/** A holder hash as HGETALL's flat list, or undefined when empty. */
export function holderOf(flat: string[]): { pid: number; host: string; startedAt: number; heartbeatAt: number; token?: string } | undefined {
  if (flat.length < 2) return undefined;
  const h: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i]!] = flat[i + 1]!;
  const holder = { pid: Number(h.pid ?? -1), host: h.host ?? "?", startedAt: Number(h.startedAt ?? 0), heartbeatAt: Number(h.heartbeatAt ?? 0) };
  return h.token === undefined ? holder : { ...holder, token: h.token };
}
