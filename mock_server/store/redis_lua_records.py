"""The Lua scripts of the Redis store's records (``redis_records.py``): read, commit (create or
replace, compare-and-set), trim, range and page. Key layout and errors: ``redis_lua.py``."""

from .redis_lua import PRELUDE

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
#   its counter, so none can exist: not read; '?': created if it does not exist, else left as it
#   is and answered {0, '0', 0, ''}) value ix (its index entries, one JSON argument
#   [[ixname, score-or-''], ...]: one argument per record, not two per entry, as the client packs
#   each argument in Python)
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
  if ARGV[pos + 4] ~= '[]' then item.ix = cjson.decode(ARGV[pos + 4]) end
  pos = pos + 5
  if (item.ver == '-' or item.ver == '0' or item.ver == '?') and not counted[item.kind] then
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
local creates, skipped = 0, 0
local creating = {}                      -- keys this call creates ('?': one given twice is created once)
for _, item in ipairs(items) do
  item.key = D .. 'rec:' .. item.kind .. ':' .. item.id
  if item.ver == '-' then
    item.ver = '0'
  elseif item.ver == '?' then
    if creating[item.key] or redis.call('EXISTS', item.key) == 1 then item.skip = true; skipped = skipped + 1 else item.ver = '0' end
  else
    item.cur = redis.call('HMGET', item.key, 'v', 'seq', 'cus', 'ver', 'ix')
    if (item.cur[4] or '0') ~= item.ver then conflict = true end
  end
  if item.ver == '0' then creates = creates + 1; creating[item.key] = true end
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
if skipped == #items then                -- all there already: nothing changes, no version moves
  local same = {}
  for _ = 1, skipped do for _, f in ipairs({0, '0', 0, ''}) do same[#same + 1] = f end end
  return same
end
local changed = {}
if counting then
  changed[#changed + 1] = 'n:' .. ARGV[5]
  changed[#changed + 1] = tonumber(meta[8] or '0') + 1
end
local seq_n = tonumber(meta[7] or '0')
local sizes = {}
local function sized(name, delta)      -- only a counted index ('#' first: store.COUNTED) is sized
  if string.byte(name, 1) == 35 then sizes[name] = (sizes[name] or 0) + delta end
end
local counts = {}
local out = {}
for _, item in ipairs(items) do
  local seq, cus, ver
  if item.skip then
    out[#out + 1] = 0
    out[#out + 1] = '0'
    out[#out + 1] = 0
    out[#out + 1] = ''
  elseif item.ver == '0' then
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
    for _, e in ipairs(old) do sized(e[1], -redis.call('ZREM', D .. 'ix:' .. e[1], m)) end
  end
  if not item.skip then
  local m = member(seq, item.kind, item.id)
  local resolved = {}
  for k, e in ipairs(item.ix) do
    local s = e[2]
    if s == '' then s = score(cus / 1000000) end
    sized(e[1], redis.call('ZADD', D .. 'ix:' .. e[1], s, m))
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
for name, delta in pairs(sizes) do
  if delta ~= 0 and redis.call('HINCRBY', META, 'x:' .. name, delta) <= 0 then redis.call('HDEL', META, 'x:' .. name) end
end
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
    for _, e in ipairs(cjson.decode(ix)) do
      if redis.call('ZREM', D .. 'ix:' .. e[1], m) == 1 and string.byte(e[1], 1) == 35
        and redis.call('HINCRBY', META, 'x:' .. e[1], -1) <= 0 then redis.call('HDEL', META, 'x:' .. e[1]) end
    end
  end
  if redis.call('ZREM', key, m) == 1 and string.byte(ARGV[3], 1) == 35
    and redis.call('HINCRBY', META, 'x:' .. ARGV[3], -1) <= 0 then redis.call('HDEL', META, 'x:' .. ARGV[3]) end
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
