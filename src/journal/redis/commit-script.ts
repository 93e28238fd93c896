/**
 * The batch commit as ONE Lua script: it checks every record of the batch first (the lease token,
 * gap-free seq and lane seq, new command ids, idempotency claims, the compare-and-swap of every
 * status change through the generated transition table, outcomes once, session versions) against
 * Redis as the batch leaves it so far, and writes only when all of them passed: a refusal writes
 * nothing. The rules and wordings are materialize.ts's (its refusals name the same things).
 *
 * KEYS: meta, journal (stream), seq, lanes, lease. ARGV: key prefix, lease token, encoding, node
 * ('' for one node), then one record JSON per record. Per-command keys are built from the prefix
 * (same hash tag):
 *   <prefix>cmd:<commandId>                 hash status, revision, scope, key
 *   <prefix>idem:<#scope>:<scope>:<key>     hash cmd, exp ("" while held without expiry)
 *   <prefix>sess:<sessionId>                hash version, deleted ("0" / "1")
 * With a node name (several nodes on one journal, docs/redis-store.md "Several nodes"), the lease is
 * the node's, every record's lane must be owned by this node with this token (`owners` hash: lane →
 * "<node>|<token>"), and the script numbers the batch itself: each record is sent without its `seq`
 * (the JSON's text after its opening brace) and stored as `{"seq":<n>,…`, continuing the journal.
 * Reply: {"ok", lastSeq} | {"refused", index, why} | {"lease", why} | {"lost", lane, why}.
 */
import { luaLifecycleTables } from "./lua-tables.js";

const BODY = String.raw`
local P, TOKEN, ENC, NODE = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local SHARED, FIRST = NODE ~= '', 5
local LEGACY_STATUS = {started="running", requeued="queued"}
local function isnull(v) return v == nil or v == cjson.null end
local function s(v) if v == nil then return 'undefined' elseif v == cjson.null then return 'null' end return tostring(v) end
local function num(n) return string.format('%.17g', n) end
if redis.call('GET', KEYS[5]) ~= TOKEN then return {'lease', 'the journal lease is no longer ours (expired, or taken over by another writer)'} end
local lastSeq = tonumber(redis.call('GET', KEYS[3]) or '0')
local lanes, cmds, idems, sess = {}, {}, {}, {}
local function lane(l)
  if lanes[l] == nil then lanes[l] = {seq = tonumber(redis.call('HGET', KEYS[4], l) or '0')} end
  return lanes[l]
end
local function cmd(id)
  local c = cmds[id]
  if c == nil then
    local h = redis.call('HMGET', P .. 'cmd:' .. id, 'status', 'revision', 'scope', 'key')
    if h[1] then c = {status = h[1], revision = tonumber(h[2]), scope = h[3], key = h[4]} else c = false end
    cmds[id] = c
  end
  return c
end
local function idemKey(scope, key) return P .. 'idem:' .. #scope .. ':' .. scope .. ':' .. key end
local function idem(scope, key)
  local k = idemKey(scope, key)
  local e = idems[k]
  if e == nil then
    local h = redis.call('HMGET', k, 'cmd', 'exp')
    if h[1] then e = {cmd = h[1], exp = tonumber(h[2]) or false} else e = false end
    idems[k] = e
  end
  return e, k
end
local function session(id)
  local e = sess[id]
  if e == nil then
    local h = redis.call('HMGET', P .. 'sess:' .. id, 'version', 'deleted')
    if h[1] then e = {version = tonumber(h[1]), deleted = h[2] == '1'} else e = false end
    sess[id] = e
  end
  return e
end
local function describe(id, to, rev)
  local c = cmd(id)
  if not c then return 'unknown command ' .. id end
  if TERMINAL[c.status] then return 'command ' .. id .. ' already has a terminal outcome (status ' .. c.status .. ')' end
  local expecting = '?'
  if type(rev) == 'number' then expecting = s(rev - 1) end
  return 'command ' .. id .. ' is ' .. c.status .. ' at revision ' .. s(c.revision) .. ': ' .. c.status .. ' → ' .. s(to) .. ' expecting revision ' .. expecting .. ' refused'
end
local function cas(r, to, rev, sources)
  local c = cmd(r.commandId)
  if not c or c.revision ~= rev - 1 or not sources or not sources[c.status] then return describe(r.commandId, to, rev) end
  c.status, c.revision, c.dirty = to, rev, true
  return nil
end
local function effect(r)
  local e = r.effect
  if isnull(e) then return nil end
  local id = s(e.sessionId)
  local cur = session(id)
  if e.kind == 'create' then
    if cur and not cur.deleted then return 'create: session ' .. id .. ' already exists' end
    if type(e.version) ~= 'number' then return 'create: session ' .. id .. ' without a version' end
    sess[id] = {version = e.version, deleted = false, dirty = true}
    return nil
  elseif e.kind == 'write' or e.kind == 'patch' then
    if e.kind == 'patch' and type(e.ops) ~= 'table' then return 'patch effect for session ' .. id .. ' without ops' end
    local why = nil
    if not cur then why = 'does not exist' elseif cur.deleted then why = 'is deleted'
    elseif not (type(e.version) == 'number' and cur.version < e.version) then why = 'is at version ' .. s(cur.version) .. ', not below ' .. s(e.version) end
    if why then return e.kind .. ': session ' .. id .. ' ' .. why end
    cur.version, cur.dirty = e.version, true
    return nil
  elseif e.kind == 'delete' then
    if not cur or cur.deleted then return 'delete: session ' .. id .. ' does not exist' end
    cur.deleted, cur.dirty = true, true
    return nil
  end
  return 'unknown session effect ' .. s(e.kind)
end
local function finished(r, status, rev, legacy)
  if isnull(status) or not TERMINAL[status] then return 'finished record needs a terminal status, got ' .. s(status) end
  if isnull(r.outcome) then return 'finished record without an outcome' end
  local sources = SOURCES[status]
  if legacy then sources = UNFINISHED end
  local why = cas(r, status, rev, sources)
  if why then return 'finished: ' .. why end
  local c = cmd(r.commandId)
  if type(r.idempotencyExpiresAt) == 'number' and c.scope and c.key then
    local e = idem(c.scope, c.key)
    if e and e.cmd == r.commandId then e.exp, e.dirty = r.idempotencyExpiresAt, true end
  end
  return effect(r)
end
local function accepted(r)
  local id = r.commandId
  if cmd(id) then return 'duplicate command id ' .. id end
  local c = {status = 'queued', revision = 0, scope = false, key = false, dirty = true}
  if not isnull(r.idempotencyKey) then
    local key = s(r.idempotencyKey)
    if isnull(r.idempotencyScope) then return 'idempotency key ' .. key .. ' without an idempotency scope' end
    local scope = s(r.idempotencyScope)
    local e, k = idem(scope, key)
    if e and (e.exp == false or e.exp > r.recordedAt) then return 'idempotency key (' .. scope .. ', ' .. key .. ') is still held by another command' end
    idems[k] = {cmd = id, exp = false, dirty = true}
    c.scope, c.key = scope, key
  end
  cmds[id] = c
  return nil
end
local function apply(r)
  local status, rev, legacy = r.status, r.revision, false
  if TRANSITION[r.phase] and type(rev) ~= 'number' then
    local c = cmd(r.commandId)
    rev, legacy = (c and c.revision or 0) + 1, true
    if isnull(status) then status = LEGACY_STATUS[r.phase] end
  end
  if SHARED then r.seq = lastSeq + 1 end
  if r.seq ~= lastSeq + 1 then return 'seq must be gap-free: got ' .. s(r.seq) .. ', expected ' .. s(lastSeq + 1) end
  local l = lane(s(r.lane))
  if r.laneSeq ~= l.seq + 1 then return 'lane_seq must be gap-free in lane ' .. s(r.lane) .. ': got ' .. s(r.laneSeq) .. ', expected ' .. s(l.seq + 1) end
  lastSeq, l.seq, l.dirty = r.seq, r.laneSeq, true
  if r.phase == 'finished' then return finished(r, status, rev, legacy) end
  if TRANSITION[r.phase] then
    if isnull(status) or type(rev) ~= 'number' then return r.phase .. ': a ' .. r.phase .. ' row needs a status and a revision' end
    local why = cas(r, status, rev, SOURCES[status])
    if why then return r.phase .. ': ' .. why end
    -- only finished writes an outcome: a terminal status without one is refused (SQLite: a CHECK)
    if TERMINAL[status] then return r.phase .. ': a ' .. r.phase .. ' row may not set the terminal status ' .. status .. ' (only finished does, with an outcome)' end
    return nil
  end
  if r.phase == 'accepted' then return accepted(r) end
  if r.phase == 'replayed' or r.phase == 'conflict' then return nil end
  return 'unknown journal phase ' .. s(r.phase)
end
local owned = {}
for i = FIRST, #ARGV do
  local text = ARGV[i]
  if SHARED then text = '{' .. text end
  local ok, r = pcall(cjson.decode, text)
  if not ok or type(r) ~= 'table' then return {'refused', i - FIRST, 'not a JSON record'} end
  if SHARED and owned[s(r.lane)] == nil then
    owned[s(r.lane)] = redis.call('HGET', P .. 'owners', s(r.lane)) == NODE .. '|' .. TOKEN
    if not owned[s(r.lane)] then return {'lost', s(r.lane), 'lane ' .. s(r.lane) .. ' is not owned by node ' .. NODE .. ' with its current token (another node took it over)'} end
  end
  local why = apply(r)
  if why then return {'refused', i - FIRST, why} end
end
-- every check passed: write (the stream first: an id it refuses stops the script before any other write)
local first = tonumber(redis.call('GET', KEYS[3]) or '0')
for i = FIRST, #ARGV do
  local seq = first + i - FIRST + 1
  local text = ARGV[i]
  if SHARED then text = '{"seq":' .. string.format('%d', seq) .. ',' .. text end
  redis.call('XADD', KEYS[2], string.format('%d-0', seq), 'v', ENC, 'r', text)
end
redis.call('SET', KEYS[3], string.format('%d', lastSeq))
for name, l in pairs(lanes) do if l.dirty then redis.call('HSET', KEYS[4], name, string.format('%d', l.seq)) end end
for id, c in pairs(cmds) do
  if c and c.dirty then
    redis.call('HSET', P .. 'cmd:' .. id, 'status', c.status, 'revision', string.format('%d', c.revision))
    if c.scope and c.key then redis.call('HSET', P .. 'cmd:' .. id, 'scope', c.scope, 'key', c.key) end
  end
end
for k, e in pairs(idems) do
  if e and e.dirty then
    local exp = ''
    if e.exp then exp = num(e.exp) end
    redis.call('HSET', k, 'cmd', e.cmd, 'exp', exp)
  end
end
for id, e in pairs(sess) do
  if e and e.dirty then
    local deleted = '0'
    if e.deleted then deleted = '1' end
    redis.call('HSET', P .. 'sess:' .. id, 'version', num(e.version), 'deleted', deleted)
  end
end
return {'ok', lastSeq}
`;

/** The commit script's Lua source: the generated lifecycle tables, then the checks and writes. */
export function commitScript(): string {
  // a shebang script: Redis checks OOM (and the like) before it runs, never halfway through its writes
  return `#!lua\n${luaLifecycleTables()}\n${BODY}`;
}

export type CommitReply = ["ok", number] | ["refused", number, string] | ["lease", string] | ["lost", string, string];
