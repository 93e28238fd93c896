/**
 * One compaction batch of the Redis journal as ONE Lua script (retention's rule, planned on the
 * projection: compaction.ts). It re-checks in Redis what the plan promises, and writes only when
 * every check passed (a refusal writes nothing):
 * - the writer's lease token is still the lease key's value (else: refused, the store fails closed);
 * - the cut moves forward and stays within the journal (previous checkpoint < cut ≤ seq);
 * - every command with a record in the removed prefix is terminal in Redis (`cmd:<id>`), and its
 *   `finished` record is in the prefix too (never an unfinished command, never part of one);
 * - every command whose keys it removes is terminal, and its idempotency key is no longer live.
 * Then: the checkpoint hash (seq, encoding, the projection base), `XTRIM MINID cut+1`, `DEL` of the
 * removed commands' `cmd:` keys and of the `idem:` keys they still hold (expired).
 *
 * KEYS: lease, journal (stream), seq, checkpoint. ARGV: key prefix, lease token, encoding, cut, now,
 * base JSON, then the removed command ids. Reply: {"ok", trimmed} | {"refused", why} | {"lease", why}.
 */
import { luaLifecycleTables } from "./lua-tables.js";

const BODY = String.raw`
local P, TOKEN, ENC, CUT, NOW, BASE = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
if redis.call('GET', KEYS[1]) ~= TOKEN then return {'lease', 'the journal lease is no longer ours (expired, or taken over by another writer)'} end
local prev = tonumber(redis.call('HGET', KEYS[4], 'seq') or '0')
local last = tonumber(redis.call('GET', KEYS[3]) or '0')
if CUT <= prev or CUT > last then return {'refused', 'cut ' .. CUT .. ' is not after the checkpoint (seq ' .. prev .. ') and within the journal (last seq ' .. last .. ')'} end
local function status(id) return redis.call('HGET', P .. 'cmd:' .. id, 'status') end
local entries = redis.call('XRANGE', KEYS[2], '-', string.format('%d-0', CUT))
local open = {}
for _, e in ipairs(entries) do
  local r = cjson.decode(e[2][4])
  if r.phase ~= 'replayed' and r.phase ~= 'conflict' then
    local st = status(r.commandId)
    if not st or not TERMINAL[st] then return {'refused', 'record seq ' .. r.seq .. ': command ' .. r.commandId .. ' is ' .. tostring(st or 'unknown') .. ', not finished'} end
    if r.phase == 'accepted' then open[r.commandId] = r.seq end
    if r.phase == 'finished' then open[r.commandId] = nil end
  end
end
for id, seq in pairs(open) do return {'refused', 'command ' .. id .. ' (accepted at seq ' .. seq .. ') finishes after the cut ' .. CUT} end
local idems = {}
for i = 7, #ARGV do
  local id = ARGV[i]
  local h = redis.call('HMGET', P .. 'cmd:' .. id, 'status', 'scope', 'key')
  if not h[1] or not TERMINAL[h[1]] then return {'refused', 'command ' .. id .. ' is ' .. tostring(h[1] or 'unknown') .. ', not finished'} end
  if h[2] and h[3] then
    local k = P .. 'idem:' .. #h[2] .. ':' .. h[2] .. ':' .. h[3]
    local e = redis.call('HMGET', k, 'cmd', 'exp')
    if e[1] == id then
      if e[2] == '' or tonumber(e[2]) > NOW then return {'refused', 'command ' .. id .. ' still holds its idempotency key (' .. h[2] .. ', ' .. h[3] .. ')'} end
      idems[#idems + 1] = k
    end
  end
end
redis.call('HSET', KEYS[4], 'seq', string.format('%d', CUT), 'v', ENC, 'base', BASE)
redis.call('XTRIM', KEYS[2], 'MINID', string.format('%d-0', CUT + 1))
for i = 7, #ARGV do redis.call('DEL', P .. 'cmd:' .. ARGV[i]) end
for _, k in ipairs(idems) do redis.call('DEL', k) end
return {'ok', #entries}
`;

/** The compaction script's Lua source: the generated lifecycle tables, then the checks and writes. */
export function compactScript(): string {
  return `#!lua\n${luaLifecycleTables()}\n${BODY}`;
}

export type CompactReply = ["ok", number] | ["refused", string] | ["lease", string];
