"""The Lua scripts of the Redis store's slot ledgers, logs, counters, leases and maps
(``redis_primitives.py``). Key layout and errors: ``redis_lua.py``."""

from .redis_lua import PRELUDE

# ARGV: P NAME ledger -> {gen, slot, units, ...} (with '_v')
LEDGER = PRELUDE + r"""
local D, gen = sandbox()
if not D then return redis.error_reply('NOSANDBOX') end
local out = {gen}
local all = redis.call('HGETALL', D .. 'led:' .. ARGV[3])
for i = 1, #all do out[#out + 1] = all[i] end
return out
"""

# ARGV: P NAME expected_gen ledger expected_version slot delta ... -> 1 / CONFLICT / STALE
RESERVE = PRELUDE + r"""
local D = need(ARGV[3])
if type(D) == 'table' then return D end
local key = D .. 'led:' .. ARGV[4]
if (redis.call('HGET', key, '_v') or '0') ~= ARGV[5] then return redis.error_reply('CONFLICT') end
if #ARGV < 6 then return 1 end
for i = 6, #ARGV, 2 do
  local left = redis.call('HINCRBY', key, ARGV[i], ARGV[i + 1])
  if left <= 0 then redis.call('HDEL', key, ARGV[i]) end
end
redis.call('HINCRBY', key, '_v', 1)
bump()
return 1
"""

# ARGV: P NAME log value max_entries max_bytes(0: none) now_real -> sequence number
# (three commands and the script's own while nothing is dropped and nobody waits on the log
# (``LOG_WAIT``): no version bump, see the module doc)
APPEND = PRELUDE + r"""
local L = ARGV[3]
local m = redis.call('HMGET', META, 'ep', 'lg:' .. L, 'lb:' .. L, 'ld:' .. L, 'lx:' .. L, 'lw:' .. L)
if not m[1] then return redis.error_reply('NOSANDBOX') end
local list = P .. 'd:' .. NAME .. ':' .. m[1] .. ':log:' .. L
local base, bytes = tonumber(m[2] or '0'), tonumber(m[3] or '0') + #ARGV[4]
local length = redis.call('RPUSH', list, ARGV[4])
local last = base + length
local excess = math.max(0, length - math.max(0, tonumber(ARGV[5])))
local max_bytes = tonumber(ARGV[6])
local over = 0
for i = 1, excess do bytes = bytes - #redis.call('LPOP', list) end
if max_bytes > 0 then
  while bytes > max_bytes and length - excess - over > 1 do
    bytes = bytes - #redis.call('LPOP', list)
    over = over + 1
  end
end
if excess + over > 0 then
  redis.call('HSET', META, 'lb:' .. L, math.max(0, bytes), 'lg:' .. L, base + excess + over,
             'ld:' .. L, tonumber(m[4] or '0') + excess + over, 'lx:' .. L, tonumber(m[5] or '0') + over)
else
  redis.call('HSET', META, 'lb:' .. L, bytes)
end
if m[6] and tonumber(m[6]) >= tonumber(ARGV[7]) then redis.call('PUBLISH', P .. 'log:' .. NAME .. ':' .. L, last) end
return last
"""

# ARGV: P NAME log until_real -> the log's last sequence number (0: no sandbox); appends publish it
# on ``P log:NAME:LOG`` until ``until_real`` (``lw:LOG``, the latest deadline of its waiters), and
# commits the sandbox's version (``vw``: a reset or any other change ends the wait too)
LOG_WAIT = PRELUDE + r"""
local L = ARGV[3]
local m = redis.call('HMGET', META, 'ep', 'lg:' .. L, 'lw:' .. L, 'vw')
if not m[1] then return 0 end
local raise = {}
if not m[3] or tonumber(m[3]) < tonumber(ARGV[4]) then raise = {'lw:' .. L, ARGV[4]} end
if not m[4] or tonumber(m[4]) < tonumber(ARGV[4]) then raise[#raise + 1] = 'vw'; raise[#raise + 1] = ARGV[4] end
if #raise > 0 then redis.call('HSET', META, unpack(raise)) end
return tonumber(m[2] or '0') + redis.call('LLEN', P .. 'd:' .. NAME .. ':' .. m[1] .. ':log:' .. L)
"""

# ARGV: P NAME log after limit -> {last, dropped, first, dropped for bytes, bytes, values...}
READ_LOG = PRELUDE + r"""
local L = ARGV[3]
local m = redis.call('HMGET', META, 'ep', 'lg:' .. L, 'lb:' .. L, 'ld:' .. L, 'lx:' .. L)
if not m[1] then return {0, 0, 1, 0, 0} end
local list = P .. 'd:' .. NAME .. ':' .. m[1] .. ':log:' .. L
local base = tonumber(m[2] or '0')
local last = base + redis.call('LLEN', list)
local first = base + 1
local out = {last, tonumber(m[4] or '0'), first, tonumber(m[5] or '0'), tonumber(m[3] or '0')}
local start = math.max(0, tonumber(ARGV[4]) + 1 - first)
local limit = tonumber(ARGV[5])
if limit > 0 then
  local values = redis.call('LRANGE', list, start, start + limit - 1)
  out[3] = first + start
  for i = 1, #values do out[#out + 1] = values[i] end
end
return out
"""

# ARGV: P NAME log (no version bump, as for an append)
CLEAR_LOG = PRELUDE + r"""
local L = ARGV[3]
local m = redis.call('HMGET', META, 'ep', 'lg:' .. L)
if not m[1] then return 0 end
local list = P .. 'd:' .. NAME .. ':' .. m[1] .. ':log:' .. L
local last = tonumber(m[2] or '0') + redis.call('LLEN', list)
redis.call('DEL', list)
redis.call('HSET', META, 'lg:' .. L, last, 'lb:' .. L, 0, 'ld:' .. L, 0, 'lx:' .. L, 0)
return 1
"""

# ARGV: P NAME key amount now ttl(or '') -> value   (counters do not bump the version)
INCR = PRELUDE + r"""
local D = need('')
if type(D) == 'table' then return D end
local key = D .. 'cnt:' .. ARGV[3]
local m = redis.call('HMGET', key, 'v', 'exp')
local value, exp = tonumber(m[1] or '0'), m[2]
local now = tonumber(ARGV[5])
if exp and exp ~= '' and tonumber(exp) <= now then value, exp = 0, nil end
if not m[1] or (value == 0 and (not exp or exp == '')) then
  if ARGV[6] ~= '' then exp = score(now + tonumber(ARGV[6])) else exp = '' end
end
value = value + tonumber(ARGV[4])
redis.call('HSET', key, 'v', value, 'exp', exp or '')
if exp and exp ~= '' then
  redis.call('PEXPIRE', key, math.floor((tonumber(ARGV[6]) * 2 + 3600) * 1000))
end
return value
"""

# ARGV: P NAME key owner now seconds -> {holder, until}: taken when free, run out or the owner's
LEASE = PRELUDE + r"""
local D = need('')
if type(D) == 'table' then return D end
local key = D .. 'lse:' .. ARGV[3]
local m = redis.call('HMGET', key, 'by', 'until')
local now = tonumber(ARGV[5])
if m[1] and m[1] ~= ARGV[4] and tonumber(m[2]) > now then return {m[1], m[2]} end
local seconds = tonumber(ARGV[6])
local ends = score(now + seconds)
redis.call('HSET', key, 'by', ARGV[4], 'until', ends)
redis.call('PEXPIRE', key, math.floor((seconds * 2 + 3600) * 1000))
return {ARGV[4], ends}
"""

# ARGV: P NAME key now -> value
COUNTER = PRELUDE + r"""
local D = sandbox()
if not D then return 0 end
local m = redis.call('HMGET', D .. 'cnt:' .. ARGV[3], 'v', 'exp')
if not m[1] then return 0 end
if m[2] and m[2] ~= '' and tonumber(m[2]) <= tonumber(ARGV[4]) then return 0 end
return tonumber(m[1])
"""

# ARGV: P NAME map key -> {gen, value or false}
MAP_GET = PRELUDE + r"""
local D, gen = sandbox()
if not D then return {-1, false} end
return {gen, redis.call('HGET', D .. 'map:' .. ARGV[3], ARGV[4])}
"""

# ARGV: P NAME map key had(0/1) expected new -> 1 / CONFLICT
MAP_SET = PRELUDE + r"""
local D = need('')
if type(D) == 'table' then return D end
local key = D .. 'map:' .. ARGV[3]
local cur = redis.call('HGET', key, ARGV[4])
if (ARGV[5] == '1') ~= (cur ~= false) or (cur and cur ~= ARGV[6]) then return redis.error_reply('CONFLICT') end
redis.call('HSET', key, ARGV[4], ARGV[7])
if not cur then
  local n = redis.call('HINCRBY', META, 'n:map', 1)
  redis.call('ZADD', D .. 'mapo:' .. ARGV[3], n, ARGV[4])
end
bump(ARGV[3])
return 1
"""

# ARGV: P NAME map key -> 1/0
MAP_DELETE = PRELUDE + r"""
local D = sandbox()
if not D then return 0 end
if redis.call('HDEL', D .. 'map:' .. ARGV[3], ARGV[4]) == 0 then return 0 end
redis.call('ZREM', D .. 'mapo:' .. ARGV[3], ARGV[4])
bump(ARGV[3])
return 1
"""

# ARGV: P NAME map -> {key, value, ...} in insertion order
MAP_ITEMS = PRELUDE + r"""
local D = sandbox()
if not D then return {} end
local keys = redis.call('ZRANGE', D .. 'mapo:' .. ARGV[3], 0, -1)
local out = {}
if #keys == 0 then return out end
local values = redis.call('HMGET', D .. 'map:' .. ARGV[3], unpack(keys))
for i = 1, #keys do
  out[#out + 1] = keys[i]
  out[#out + 1] = values[i]
end
return out
"""
