"""The Lua scripts of RedisSessionStore: each runs atomically, so checks and writes cannot interleave.

Every conversation-level script takes the same KEYS: 1 the meta hash (version, status, state, updated_at,
last_text, channel, thread), 2 the events list (JSON, seq = position + 1), 3 the set of message ids, 4 the
sorted set of all conversations by ``updated_at`` (µs), 5 the sorted set of those not closed.
"""

from __future__ import annotations

SNAPSHOT = """
local function snapshot(tag)
  return {tag, redis.call('HGETALL', KEYS[1]), redis.call('LRANGE', KEYS[2], 0, -1)}
end
local function index_and_expire(score, member, ttl)
  redis.call('ZADD', KEYS[4], score, member)
  if redis.call('HGET', KEYS[1], 'status') == 'closed' then
    redis.call('ZREM', KEYS[5], member)
  else
    redis.call('ZADD', KEYS[5], score, member)
  end
  if ttl > 0 then
    for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ttl) end
  end
end
"""

LOAD = SNAPSHOT + "return snapshot('ok')"

APPEND = (
    SNAPSHOT
    + """
-- ARGV: 1 expected version, 2 ttl ms (0: none), 3 updated_at, 4 score, 5 member, 6 status ('': keep),
-- 7 state JSON ('': keep), 8 '1' to set last_text, 9 last_text, 10 channel, 11 thread, 12 n events,
-- then n pairs: message id ('': none), event JSON.
local n = tonumber(ARGV[12])
for i = 0, n - 1 do
  local message_id = ARGV[13 + 2 * i]
  if message_id ~= '' and redis.call('SISMEMBER', KEYS[3], message_id) == 1 then
    return snapshot('duplicate')
  end
end
local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if version ~= tonumber(ARGV[1]) then
  return {'conflict', version}
end
for i = 0, n - 1 do
  local message_id = ARGV[13 + 2 * i]
  redis.call('RPUSH', KEYS[2], ARGV[14 + 2 * i])
  if message_id ~= '' then redis.call('SADD', KEYS[3], message_id) end
end
redis.call('HSET', KEYS[1], 'version', tostring(version + 1), 'updated_at', ARGV[3],
  'channel', ARGV[10], 'thread', ARGV[11])
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'status', ARGV[6])
else redis.call('HSETNX', KEYS[1], 'status', 'bot') end
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'state', ARGV[7])
else redis.call('HSETNX', KEYS[1], 'state', '{}') end
if ARGV[8] == '1' then redis.call('HSET', KEYS[1], 'last_text', ARGV[9]) end
index_and_expire(ARGV[4], ARGV[5], tonumber(ARGV[2]))
return snapshot('ok')
"""
)

RESTORE = (
    SNAPSHOT
    + """
-- ARGV: 1 ttl ms, 2 score, 3 member, 4 m meta pairs, then 2m meta entries, then pairs of
-- message id ('': none) and event JSON until the end.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return snapshot('exists')
end
local m = tonumber(ARGV[4])
local fields = {}
for i = 5, 4 + 2 * m do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
local i = 5 + 2 * m
while i < #ARGV do
  redis.call('RPUSH', KEYS[2], ARGV[i + 1])
  if ARGV[i] ~= '' then redis.call('SADD', KEYS[3], ARGV[i]) end
  i = i + 2
end
index_and_expire(ARGV[2], ARGV[3], tonumber(ARGV[1]))
return snapshot('ok')
"""
)

PURGE_ONE = """
-- ARGV: 1 cutoff score (exclusive), 2 member. Deletes the conversation if it is still older than the
-- cutoff (a concurrent append may have just refreshed it); returns 1 if its data existed.
local score = redis.call('ZSCORE', KEYS[4], ARGV[2])
if not score or tonumber(score) >= tonumber(ARGV[1]) then return 0 end
local existed = redis.call('EXISTS', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[2])
redis.call('ZREM', KEYS[5], ARGV[2])
return existed
"""

FORGET = """
-- ARGV: 1 member. Drops the index entries of a conversation whose keys expired (TTL); returns 1 if so.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
return 1
"""
