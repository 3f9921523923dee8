"""The Lua scripts of the Redis store (``redis.py``): every write is one script, so it is atomic.

This module has the key layout, the prelude every script starts with and the scripts of sandboxes
and clocks; ``redis_lua_records.py`` those of records, ``redis_lua_primitives.py`` those of
ledgers, logs, counters, leases and maps.

Key layout (``P`` is ``store.prefix``, default ``bulkmock:``):

- ``P layout`` the version of this layout (``redis.LAYOUT``), set by the first process on an empty
  prefix; a process refuses keys of another layout (``StoreLayoutError``) instead of misreading them;
- ``P sandboxes`` hash name -> 1; ``P used`` sorted set name -> real time of the last touch;
  ``P vf`` the real time until which a change feed (``changes()``, on any process) listens;
  ``P vfn:NAME`` the same for a feed watching sandbox NAME (kept while NAME does not exist);
- ``P s:NAME`` hash, the sandbox: ``ep`` (epoch: a number from ``P epochs`` given at creation and at
  every reset, so a reset or drop is O(1) and old data never mixes with new), ``gen``, ``ver``,
  ``off``/``frz`` (the clock), ``created``, ``mv:MAP`` (each map's version), per log ``lg:LOG``
  (entries removed from its front since the last reset: sequence number = that + position),
  ``lb:LOG`` (bytes kept), ``ld:LOG``/``lx:LOG`` (dropped, of which for bytes), the current
  epoch's counters ``n:seq``, ``n:cus`` (the newest creation instant), ``n:uuid``, ``n:id:KIND``,
  ``n:map``, record counts ``c:KIND`` and index sizes ``x:INDEX``, and until when someone listens
  to its version channel:
  ``vf`` (a copy of ``P vf``) and ``vw`` (the latest deadline of a ``wait`` or ``wait_log``; a
  ``wait`` on a sandbox that does not exist yet keeps it in ``P vw:NAME``, expiring, which the
  ``TOUCH`` that creates the sandbox moves into its hash); so a
  touch is one ``HGETALL``, a log append reads one hash, and a commit reads and writes its
  counters, counts and version with the sandbox's epoch in one ``HMGET`` and one ``HSET`` (a reset
  deletes the ``l?:``, ``n:``, ``c:`` and ``x:`` fields);
- ``P d:NAME:EP:`` + ``rec:KIND:ID`` (hash: ``v`` value, ``seq``, ``cus``, ``ver``, ``ix`` index
  entries), ``ix:NAME`` (sorted set, member ``SEQ(12 digits)|KIND|ID``, so equal scores order by
  creation), ``led:NAME`` (hash slot -> units, ``_v`` its version), ``log:NAME`` (list; its counts
  are in ``P s:NAME``), ``cnt:KEY`` (hash ``v``, ``exp``), ``lse:KEY`` (hash ``by``, ``until``),
  ``map:NAME`` (hash) + ``mapo:NAME`` (sorted set: insertion order);
- ``P d:NAME:EP:blob:ID`` (+ ``:PART``): a kept blob's content (an uploaded CSV) and its parts (the
  CSV's offsets, destination index ...), immutable (``redis_blobs.py``).

Errors a script returns: ``NOSANDBOX`` (a write creates the sandbox and retries; a read answers
what a fresh sandbox holds, creating nothing: ``RedisStore._read``), ``TOOMANY`` (creating the sandbox
would exceed ``max_sandboxes``, counted in ``P sandboxes`` by the same script), ``STALE`` (the generation the caller
gave is gone), ``CONFLICT`` (a compare-and-set lost: re-read and retry). Every change (but a log
append, a counter or a lease) bumps ``ver`` and publishes it on ``P ver:NAME`` (the long-polls' and
the webhook dispatcher's wake-up); a commit of records (``COMMIT``, the hot path) publishes it
followed by ``r`` (a feed not watching the sandbox's records skips it), and only while someone
listens (``vf``/``vw`` not past: a change feed keeps ``vf`` ahead of the real time in the sandboxes
it watches, or in every sandbox, and then a new sandbox copies it from ``P vf``; a waiter raises
``vw`` to its deadline before it reads what it waits on). The scripts build key names
from the sandbox's epoch, so they need one Redis server (not Redis Cluster).
"""

# ARGV: P '' LAYOUT -> the layout mark under P (setting it to LAYOUT when P holds no sandbox yet),
# or '' when P holds sandboxes written before layouts were marked
LAYOUT_CHECK = r"""
local P = ARGV[1]
local mark = redis.call('GET', P .. 'layout')
if mark then return mark end
if redis.call('EXISTS', P .. 'sandboxes') == 1 then return '' end
redis.call('SET', P .. 'layout', ARGV[3])
return ARGV[3]
"""

PRELUDE = r"""
local P = ARGV[1]
local NAME = ARGV[2]
local META = P .. 's:' .. NAME
local function sandbox()
  local m = redis.call('HMGET', META, 'ep', 'gen')
  if not m[1] then return nil end
  return P .. 'd:' .. NAME .. ':' .. m[1] .. ':', tonumber(m[2])
end
local function need(expected)
  local D, gen = sandbox()
  if not D then return redis.error_reply('NOSANDBOX') end
  if expected ~= '' and tonumber(expected) ~= gen then return redis.error_reply('STALE') end
  return D, gen
end
local function bump(map)
  if map then redis.call('HINCRBY', META, 'mv:' .. map, 1) end
  local v = redis.call('HINCRBY', META, 'ver', 1)
  redis.call('PUBLISH', P .. 'ver:' .. NAME, v)
  return v
end
local function member(seq, kind, id)
  return string.format('%012d', seq) .. '|' .. kind .. '|' .. id
end
local function score(s) return string.format('%.17g', s) end
"""

# ARGV: P NAME field take(1: add 1 first)
# -> {gen, value of the id counter, data prefix, off, frz, creation instant of the newest record}
ID_COUNTER = PRELUDE + r"""
local m = redis.call('HMGET', META, 'ep', 'gen', 'off', 'frz', 'n:' .. ARGV[3], 'n:cus')
if not m[1] then return redis.error_reply('NOSANDBOX') end
local D = P .. 'd:' .. NAME .. ':' .. m[1] .. ':'
local n = m[5]
if ARGV[4] == '1' then n = redis.call('HINCRBY', META, 'n:' .. ARGV[3], 1) end
return {tonumber(m[2]), n, D, m[3], m[4], m[6]}
"""

# ARGV: P NAME -> the sandbox's data prefix (where its blobs go)
DATA_PREFIX = PRELUDE + r"""
local D = sandbox()
if not D then return redis.error_reply('NOSANDBOX') end
return D
"""

INFO_BODY = r"""
local m = redis.call('HGETALL', META)
if #m == 0 then return redis.error_reply('NOSANDBOX') end
local out = {redis.call('ZSCORE', P .. 'used', NAME) or false, 0}
local counts = {}
for i = 1, #m, 2 do
  if string.sub(m[i], 1, 2) == 'c:' then
    counts[#counts + 1] = string.sub(m[i], 3)
    counts[#counts + 1] = m[i + 1]
  else
    out[#out + 1] = m[i]
    out[#out + 1] = m[i + 1]
  end
end
out[2] = #out - 2
for i = 1, #counts do out[#out + 1] = counts[i] end
return out
"""

# ARGV: P NAME -> {used (or false), n, the sandbox hash's n fields and values..., kind1, n1, ...} or NOSANDBOX
INFO = PRELUDE + INFO_BODY

# ARGV: P NAME real(or '': the use was recorded lately) created_real off frz(or '') max_sandboxes(or '')
# -> {used (or ''), the sandbox hash's fields and values...}: the sandbox, created if needed
# (TOOMANY when max_sandboxes exist already), its use recorded (two commands for an existing
# sandbox, three when its use is recorded; ``RedisStore.touch`` reads the hash alone, one
# command, when this process recorded the use lately)
TOUCH = PRELUDE + r"""
local m = redis.call('HGETALL', META)
if #m == 0 then
  if ARGV[7] ~= '' and redis.call('HLEN', P .. 'sandboxes') >= tonumber(ARGV[7]) then
    return redis.error_reply('TOOMANY')
  end
  local ep = redis.call('INCR', P .. 'epochs')
  local vf = redis.call('GET', P .. 'vf') or '0'
  local named = redis.call('GET', P .. 'vfn:' .. NAME)    -- a feed watching this name before it existed
  if named and tonumber(named) > tonumber(vf) then vf = named end
  redis.call('HSET', META, 'ep', ep, 'gen', 0, 'ver', 0, 'off', ARGV[5], 'frz', ARGV[6], 'created', ARGV[4], 'vf', vf)
  redis.call('HSET', P .. 'sandboxes', NAME, 1)
  m = {'ep', tostring(ep), 'gen', '0', 'ver', '0', 'off', ARGV[5], 'frz', ARGV[6], 'created', ARGV[4], 'vf', vf}
  local vw = redis.call('GET', P .. 'vw:' .. NAME)     -- a wait that began before the sandbox existed
  if vw then
    redis.call('HSET', META, 'vw', vw)
    redis.call('DEL', P .. 'vw:' .. NAME)
    m[#m + 1] = 'vw'
    m[#m + 1] = vw
  end
  if ARGV[3] == '' then ARGV[3] = ARGV[4] end
end
if ARGV[3] ~= '' then redis.call('ZADD', P .. 'used', ARGV[3], NAME) end
local out = {ARGV[3]}
for i = 1, #m do out[#out + 1] = m[i] end
return out
"""

# ARGV: P NAME until_real seconds -> the sandbox's version; commits publish it until ``until_real``.
# A sandbox that does not exist: 0, and ``P vw:NAME`` keeps ``until_real`` (for ``seconds``) for the
# ``TOUCH`` that creates it meanwhile (a wait never creates a sandbox, yet hears the first commits)
WAIT = PRELUDE + r"""
local m = redis.call('HMGET', META, 'ver', 'vw')
if not m[1] then
  local key = P .. 'vw:' .. NAME
  local w = redis.call('GET', key)
  if not w or tonumber(w) < tonumber(ARGV[3]) then redis.call('SET', key, ARGV[3], 'EX', ARGV[4]) end
  return 0
end
if not m[2] or tonumber(m[2]) < tonumber(ARGV[3]) then redis.call('HSET', META, 'vw', ARGV[3]) end
return tonumber(m[1])
"""

# ARGV: P '' until_real all(1/0) name... -> 1: the change feeds listen to commits until ``until_real``
# (or later) in every sandbox, new ones included (all = 1), or in the sandboxes named, including one
# created (again) meanwhile: ``P vfn:NAME`` keeps the deadline for TOUCH to copy (expiring after
# 120 s, twice ``FEED_LISTENS``, which a feed renews halfway)
LISTEN = PRELUDE + r"""
local until_real = tonumber(ARGV[3])
if ARGV[4] == '1' then
  local top = score(math.max(tonumber(redis.call('GET', P .. 'vf') or '0'), until_real))
  redis.call('SET', P .. 'vf', top)
  for _, name in ipairs(redis.call('HKEYS', P .. 'sandboxes')) do redis.call('HSET', P .. 's:' .. name, 'vf', top) end
  return 1
end
for i = 5, #ARGV do
  local key = P .. 's:' .. ARGV[i]
  local m = redis.call('HMGET', key, 'ep', 'vf')
  if m[1] and tonumber(m[2] or '0') < until_real then redis.call('HSET', key, 'vf', score(until_real)) end
  redis.call('SET', P .. 'vfn:' .. ARGV[i], score(until_real), 'EX', 120)
end
return 1
"""

# ARGV: P NAME -> {off, frz, ver} or NOSANDBOX
CLOCK = PRELUDE + r"""
local m = redis.call('HMGET', META, 'off', 'frz', 'ver')
if not m[1] then return redis.error_reply('NOSANDBOX') end
return m
"""

# ARGV: P NAME rewind(0/1) off frz -> old data prefix
RESET = PRELUDE + r"""
local D = sandbox()
if not D then return redis.error_reply('NOSANDBOX') end
local ep = redis.call('INCR', P .. 'epochs')
redis.call('HSET', META, 'ep', ep)
redis.call('HINCRBY', META, 'gen', 1)
local logs = {}
for _, f in ipairs(redis.call('HKEYS', META)) do
  if string.find(f, '^l[gbdxw]:') or string.find(f, '^[ncx]:') then logs[#logs + 1] = f end
end
if #logs > 0 then redis.call('HDEL', META, unpack(logs)) end
if ARGV[3] == '1' then redis.call('HSET', META, 'off', ARGV[4], 'frz', ARGV[5]) end
bump()
return D
"""

# ARGV: P NAME only_if_used_before(or '') -> old data prefix or false
DROP = PRELUDE + r"""
local D = sandbox()
if not D then return false end
if ARGV[3] ~= '' then
  local used = tonumber(redis.call('ZSCORE', P .. 'used', NAME) or '0')
  if used >= tonumber(ARGV[3]) then return false end
end
redis.call('HINCRBY', META, 'gen', 1)
bump()
redis.call('DEL', META)
redis.call('HDEL', P .. 'sandboxes', NAME)
redis.call('ZREM', P .. 'used', NAME)
return D
"""

# ARGV: P NAME expected_off expected_frz new_off new_frz -> 1 / CONFLICT
CLOCK_SET = PRELUDE + r"""
local D = sandbox()
if not D then return redis.error_reply('NOSANDBOX') end
local m = redis.call('HMGET', META, 'off', 'frz')
if m[1] ~= ARGV[3] or m[2] ~= ARGV[4] then return redis.error_reply('CONFLICT') end
if ARGV[5] ~= ARGV[3] or ARGV[6] ~= ARGV[4] then
  redis.call('HSET', META, 'off', ARGV[5], 'frz', ARGV[6])
  bump()
end
return 1
"""
