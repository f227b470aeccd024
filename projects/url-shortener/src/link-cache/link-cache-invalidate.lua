--[[
  After a change of a link was written to the database: drops the entry, raises the version
  floor to the change's version (a fill loaded before the change and landing after it is
  refused) and lifts this change's fence.

  KEYS[1]  entry key  url-shortener:link:<run>:{<code>}
  KEYS[2]  meta key   url-shortener:link:<run>:{<code>}:meta  (same hash tag, same slot)
  ARGV[1]  version of the change (the row's new updated_at)
  ARGV[2]  fence token of the change, or '' when it set none
  ARGV[3]  meta key TTL in milliseconds (>= the entry TTL: no older fill can outlive the floor)

  Output: the floor now in force.
]]
local floor = tonumber(redis.call('HGET', KEYS[2], 'floor') or '-1')
local version = tonumber(ARGV[1])
if version > floor then
  floor = version
end
redis.call('HSET', KEYS[2], 'floor', floor)
if ARGV[2] ~= '' then
  redis.call('HDEL', KEYS[2], 'fence:' .. ARGV[2])
end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('DEL', KEYS[1])
return floor
