--[[
  Invalidation after an update or delete: drops the entry and raises the version floor, so a
  fill carrying an older version (loaded before the change, landing after it) is refused.

  KEYS[1]  entry key          url-shortener:link:{<code>}
  KEYS[2]  version floor key  url-shortener:link-version:{<code>}  (same hash tag, same slot)
  ARGV[1]  version of the change (the row's new updated_at)
  ARGV[2]  floor TTL in milliseconds (>= the entry TTL: no older fill can outlive it)

  Output: the floor now in force.
]]
local floor = math.max(tonumber(ARGV[1]), tonumber(redis.call('GET', KEYS[2]) or '-1'))
redis.call('SET', KEYS[2], floor, 'PX', ARGV[2])
redis.call('DEL', KEYS[1])
return floor
