--[[
  Before a change of a link is written to the database: drops the entry and sets a fence, so no
  fill lands (whatever version it carries) until the change is written and invalidated, or the
  fence expires (its writer died in between).

  KEYS[1]  entry key  url-shortener:link:<run>:{<code>}
  KEYS[2]  meta key   url-shortener:link:<run>:{<code>}:meta  (same hash tag, same slot)
  ARGV[1]  fence token (unique per change: two writers' fences never lift each other's)
  ARGV[2]  fence lifetime in milliseconds
  ARGV[3]  meta key TTL in milliseconds (>= the entry TTL and the fence lifetime)

  Output: 1.
]]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('HSET', KEYS[2], 'fence:' .. ARGV[1], now + tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('DEL', KEYS[1])
return 1
