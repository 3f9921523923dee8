"""The Lua scripts of the Redis store (``redis.py``): every write is one script, so it is atomic.

Key layout (``P`` is ``store.prefix``, default ``bulkmock:``):

- ``P sandboxes`` hash name -> 1; ``P used`` sorted set name -> real time of the last touch;
  ``P vf`` the real time until which a change feed (``changes()``, on any process) listens;
- ``P s:NAME`` hash, the sandbox: ``ep`` (epoch: a number from ``P epochs`` given at creation and at
  every reset, so a reset or drop is O(1) and old data never mixes with new), ``gen``, ``ver``,
  ``off``/``frz`` (the clock), ``created``, ``mv:MAP`` (each map's version), per log ``lg:LOG``
  (entries removed from its front since the last reset: sequence number = that + position),
  ``lb:LOG`` (bytes kept), ``ld:LOG``/``lx:LOG`` (dropped, of which for bytes), the current
  epoch's counters ``n:seq``, ``n:cus`` (the newest creation instant), ``n:uuid``, ``n:id:KIND``,
  ``n:map`` and record counts ``c:KIND``, and until when someone listens to its version channel:
  ``vf`` (a copy of ``P vf``) and ``vw`` (the latest deadline of a ``wait`` or ``wait_log``); so a
  touch is one ``HGETALL``, a log append reads one hash, and a commit reads and writes its
  counters, counts and version with the sandbox's epoch in one ``HMGET`` and one ``HSET`` (a reset
  deletes the ``l?:``, ``n:`` and ``c:`` fields);
- ``P d:NAME:EP:`` + ``rec:KIND:ID`` (hash: ``v`` value, ``seq``, ``cus``, ``ver``, ``ix`` index
  entries), ``ix:NAME`` (sorted set, member ``SEQ(12 digits)|KIND|ID``, so equal scores order by
  creation), ``led:NAME`` (hash slot -> units, ``_v`` its version), ``log:NAME`` (list; its counts
  are in ``P s:NAME``), ``cnt:KEY`` (hash ``v``, ``exp``), ``lse:KEY`` (hash ``by``, ``until``),
  ``map:NAME`` (hash) + ``mapo:NAME`` (sorted set: insertion order);
- ``P d:NAME:EP:blob:ID`` (+ ``:PART``): a kept blob's content (an uploaded CSV) and its parts (the
  CSV's offsets, destination index ...), immutable (``redis_blobs.py``).

Errors a script returns: ``NOSANDBOX`` (create it and retry), ``TOOMANY`` (creating the sandbox
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
  redis.call('HSET', META, 'ep', ep, 'gen', 0, 'ver', 0, 'off', ARGV[5], 'frz', ARGV[6], 'created', ARGV[4], 'vf', vf)
  redis.call('HSET', P .. 'sandboxes', NAME, 1)
  m = {'ep', tostring(ep), 'gen', '0', 'ver', '0', 'off', ARGV[5], 'frz', ARGV[6], 'created', ARGV[4], 'vf', vf}
  if ARGV[3] == '' then ARGV[3] = ARGV[4] end
end
if ARGV[3] ~= '' then redis.call('ZADD', P .. 'used', ARGV[3], NAME) end
local out = {ARGV[3]}
for i = 1, #m do out[#out + 1] = m[i] end
return out
"""

# ARGV: P NAME until_real -> the sandbox's version (NOSANDBOX); commits publish it until ``until_real``
WAIT = PRELUDE + r"""
local m = redis.call('HMGET', META, 'ver', 'vw')
if not m[1] then return redis.error_reply('NOSANDBOX') end
if not m[2] or tonumber(m[2]) < tonumber(ARGV[3]) then redis.call('HSET', META, 'vw', ARGV[3]) end
return tonumber(m[1])
"""

# ARGV: P '' until_real all(1/0) name... -> 1: the change feeds listen to commits until ``until_real``
# (or later) in every sandbox, new ones included (all = 1), or in the existing sandboxes named
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
  if string.find(f, '^l[gbdxw]:') or string.find(f, '^[nc]:') then logs[#logs + 1] = f end
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

# ARGV: P NAME kind1 id1 kind2 id2 ... -> {gen, fields1..., fields2...} (5 fields a record, false if absent)
GET = PRELUDE + r"""
local D, gen = sandbox()
if not D then return redis.error_reply('NOSANDBOX') end
local out = {gen}
for i = 3, #ARGV, 2 do
  local r = redis.call('HMGET', D .. 'rec:' .. ARGV[i] .. ':' .. ARGV[i + 1], 'v', 'seq', 'cus', 'ver', 'ix')
  for j = 1, 5 do out[#out + 1] = r[j] end
end
return out
"""

# Create or replace records, compare-and-set.
# ARGV: P NAME expected_gen real_us id_field(or '') id_expected(or '': the id was taken already, not
# compared nor counted) n created_us(or ''), then per record:
#   kind id expected_ver(0: must not exist; '-': a new record whose id the store just took from
#   its counter, so none can exist: not read) value n_ix (ixname score-or-'')...
# created_us: the creation instant of the records created (the caller's reading of the clock, given
# to its build function; CONFLICT when a newer record was created since); '': the clock now;
# 'created_us|off|frz': that instant, read from the clock (off, frz) the caller knows (CONFLICT if
# the clock is no longer that).
# The sandbox's epoch, clock, version, counters and the counts of the kinds created are read in
# one HMGET and written in one HSET of the sandbox hash; the new version is published only while
# someone listens (``vf``, ``vw``: real seconds, compared with real_us).
# -> {seq1, cus1, ver1, ixtext1, ...}, or when a comparison fails, what was read instead (so the
# caller's next attempt needs no read): {'CONFLICT', ep, gen, id counter, newest creation instant
# (or ''), off, frz, then v seq cus ver ix of each record compared}
COMMIT = PRELUDE + r"""
local fields = {'ep', 'gen', 'off', 'frz', 'ver', 'n:cus', 'n:seq', 'n:' .. (ARGV[5] ~= '' and ARGV[5] or 'seq'),
                'vf', 'vw'}
local counted = {}
local pos = 9
local items = {}
for r = 1, tonumber(ARGV[7]) do
  local item = {kind = ARGV[pos], id = ARGV[pos + 1], ver = ARGV[pos + 2], v = ARGV[pos + 3], ix = {}}
  local nix = tonumber(ARGV[pos + 4])
  pos = pos + 5
  for k = 1, nix do
    item.ix[k] = {ARGV[pos], ARGV[pos + 1]}
    pos = pos + 2
  end
  if (item.ver == '-' or item.ver == '0') and not counted[item.kind] then
    fields[#fields + 1] = 'c:' .. item.kind
    counted[item.kind] = #fields
  end
  items[#items + 1] = item
end
local meta = redis.call('HMGET', META, unpack(fields))
if not meta[1] then return redis.error_reply('NOSANDBOX') end
if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= tonumber(meta[2]) then return redis.error_reply('STALE') end
local D = P .. 'd:' .. NAME .. ':' .. meta[1] .. ':'
local given_text, clock_off, clock_frz = string.match(ARGV[8], '^([^|]*)|([^|]*)|(.*)$')
local conflict = false
if given_text then
  conflict = meta[3] ~= clock_off or (meta[4] or '') ~= clock_frz
else
  given_text = ARGV[8]
end
local given = tonumber(given_text)
local creates = 0
for _, item in ipairs(items) do
  item.key = D .. 'rec:' .. item.kind .. ':' .. item.id
  if item.ver == '-' then
    item.ver = '0'
  else
    item.cur = redis.call('HMGET', item.key, 'v', 'seq', 'cus', 'ver', 'ix')
    if (item.cur[4] or '0') ~= item.ver then conflict = true end
  end
  if item.ver == '0' then creates = creates + 1 end
end
local last = tonumber(meta[6] or '-1e300')
local counting = ARGV[5] ~= '' and ARGV[6] ~= ''
if counting and (meta[8] or '0') ~= ARGV[6] then conflict = true end
if (creates > 0 or counting) and given and given < last then conflict = true end
if conflict then
  local read = {'CONFLICT', meta[1], tonumber(meta[2]), meta[8] or '0', meta[6] or '', meta[3], meta[4] or ''}
  for _, item in ipairs(items) do
    if item.cur then for j = 1, 5 do read[#read + 1] = item.cur[j] end end
  end
  return read
end
local changed = {}
if counting then
  changed[#changed + 1] = 'n:' .. ARGV[5]
  changed[#changed + 1] = tonumber(meta[8] or '0') + 1
end
local seq_n = tonumber(meta[7] or '0')
local counts = {}
local out = {}
for _, item in ipairs(items) do
  local seq, cus, ver
  if item.ver == '0' then
    local now = given
    if not now then
      now = (meta[4] ~= '' and tonumber(meta[4])) or (tonumber(ARGV[4]) + tonumber(meta[3]))
      if now < last then now = last end
    end
    seq_n = seq_n + 1
    seq, cus, last = seq_n, now, now
    counts[item.kind] = (counts[item.kind] or tonumber(meta[counted[item.kind]] or '0')) + 1
    ver = 1
  else
    seq, cus, ver = tonumber(item.cur[2]), tonumber(item.cur[3]), tonumber(item.ver) + 1
    local old = cjson.decode(item.cur[5])
    local m = member(seq, item.kind, item.id)
    for _, e in ipairs(old) do redis.call('ZREM', D .. 'ix:' .. e[1], m) end
  end
  local m = member(seq, item.kind, item.id)
  local resolved = {}
  for k, e in ipairs(item.ix) do
    local s = e[2]
    if s == '' then s = score(cus / 1000000) end
    redis.call('ZADD', D .. 'ix:' .. e[1], s, m)
    resolved[k] = {e[1], s}
  end
  local ixtext = cjson.encode(resolved)
  if #item.ix == 0 then ixtext = '[]' end
  redis.call('HSET', item.key, 'v', item.v, 'seq', seq, 'cus', string.format('%d', cus), 'ver', ver, 'ix', ixtext)
  out[#out + 1] = seq
  out[#out + 1] = string.format('%d', cus)
  out[#out + 1] = ver
  out[#out + 1] = ixtext
end
if creates > 0 then
  changed[#changed + 1] = 'n:seq'
  changed[#changed + 1] = seq_n
  changed[#changed + 1] = 'n:cus'
  changed[#changed + 1] = string.format('%d', last)
  for kind, count in pairs(counts) do
    changed[#changed + 1] = 'c:' .. kind
    changed[#changed + 1] = count
  end
end
local v = tonumber(meta[5] or '0') + 1
changed[#changed + 1] = 'ver'
changed[#changed + 1] = v
redis.call('HSET', META, unpack(changed))
local real = tonumber(ARGV[4]) / 1000000
if tonumber(meta[9] or '0') >= real or tonumber(meta[10] or '0') >= real then
  redis.call('PUBLISH', P .. 'ver:' .. NAME, v .. 'r')
end
return out
"""

# ARGV: P NAME index keep -> how many records were removed
TRIM = PRELUDE + r"""
local D = need('')
if type(D) == 'table' then return D end
local key = D .. 'ix:' .. ARGV[3]
local cut = redis.call('ZCARD', key) - tonumber(ARGV[4])
if cut <= 0 then return 0 end
local members = redis.call('ZRANGE', key, 0, cut - 1)
for _, m in ipairs(members) do
  local kind, id = string.match(m, '^%d+|([^|]*)|(.*)$')
  local rec = D .. 'rec:' .. kind .. ':' .. id
  local ix = redis.call('HGET', rec, 'ix')
  if ix then
    for _, e in ipairs(cjson.decode(ix)) do redis.call('ZREM', D .. 'ix:' .. e[1], m) end
  end
  redis.call('ZREM', key, m)
  redis.call('DEL', rec)
  if redis.call('HINCRBY', META, 'c:' .. kind, -1) <= 0 then redis.call('HDEL', META, 'c:' .. kind) end
end
bump()
return #members
"""

RANGE_HEAD = r"""
local D, gen = sandbox()
if not D then return {-1, 0} end
local key = D .. 'ix:' .. ARGV[3]
local total = ARGV[9] == '0' and -1 or redis.call('ZCOUNT', key, ARGV[4], ARGV[5])
local found
if ARGV[8] == '1' then
  found = redis.call('ZREVRANGEBYSCORE', key, ARGV[5], ARGV[4], 'LIMIT', ARGV[6], ARGV[7])
else
  found = redis.call('ZRANGEBYSCORE', key, ARGV[4], ARGV[5], 'LIMIT', ARGV[6], ARGV[7])
end
local out = {gen, total}
"""

# ARGV: P NAME index low high offset count newest(1/0) [total(1/0, default 1)] -> {gen, total (-1: not
# counted), members...}
RANGE = PRELUDE + RANGE_HEAD + r"""
for i = 1, #found do out[#out + 1] = found[i] end
return out
"""

# ARGV: as RANGE -> {gen, total, member1, v, seq, cus, ver, ix, ...}
# (a page small enough to read in one step: the members with their records' fields)
PAGE = PRELUDE + RANGE_HEAD + r"""
for i = 1, #found do
  local _, _, kind, id = string.find(found[i], '^%d+|([^|]*)|(.*)$')
  local r = redis.call('HMGET', D .. 'rec:' .. kind .. ':' .. id, 'v', 'seq', 'cus', 'ver', 'ix')
  out[#out + 1] = found[i]
  for j = 1, 5 do out[#out + 1] = r[j] end
end
return out
"""

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
