/**
 * Lane ownership on a journal shared by several nodes (docs/redis-store.md "Several nodes"). Each
 * node holds ONE lease, `lease:node:<node>` (lease-script.ts, with its fencing token); the `owners`
 * hash maps a lane to "<node>|<token>". A lane is owned while its entry names a node whose lease
 * still holds that very token: when a node dies (or is paused past its lease), its lease expires and
 * every lane it owned can be claimed at once, each by one node only (a script is atomic). The
 * commit script checks the entry of every lane it writes, so a node that lost its lease never writes.
 */

/**
 * KEYS: owners, this node's lease. ARGV: key prefix, lane, node, token.
 * Reply {"lost"} (this node's lease is not its token any more) | {"owned"} | {"claimed", previous
 * owner or ""} | {"other", owner node, its url or ""}.
 */
export const CLAIM_LUA = String.raw`
if redis.call('GET', KEYS[2]) ~= ARGV[4] then return {'lost'} end
local mine = ARGV[3] .. '|' .. ARGV[4]
local cur = redis.call('HGET', KEYS[1], ARGV[2])
if cur == mine then return {'owned'} end
local previous = ''
if cur then
  local sep = string.find(cur, '|', 1, true)
  local owner, token = string.sub(cur, 1, sep - 1), string.sub(cur, sep + 1)
  local lease = ARGV[1] .. 'lease:node:' .. owner
  if redis.call('GET', lease) == token then return {'other', owner, redis.call('HGET', lease .. ':holder', 'url') or ''} end
  previous = owner
end
redis.call('HSET', KEYS[1], ARGV[2], mine)
return {'claimed', previous}
`;

/**
 * KEYS: owners. ARGV: key prefix, node, token, then lanes. Reply: the lanes among them nobody owns
 * now (no entry, or its node's lease no longer holds its token), this node's own excepted.
 */
export const ORPHANS_LUA = String.raw`
local mine = ARGV[2] .. '|' .. ARGV[3]
local out = {}
for i = 4, #ARGV do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if cur ~= mine then
    local orphan = true
    if cur then
      local sep = string.find(cur, '|', 1, true)
      orphan = redis.call('GET', ARGV[1] .. 'lease:node:' .. string.sub(cur, 1, sep - 1)) ~= string.sub(cur, sep + 1)
    end
    if orphan then out[#out + 1] = ARGV[i] end
  end
end
return out
`;

/** What a claim answered (CLAIM_LUA). */
export type ClaimReply = ["lost"] | ["owned"] | ["claimed", string] | ["other", string, string];
