--[[
  Read-through fill: stores a value loaded from the database, unless an invalidation newer than
  that value has already happened (the reader loaded it before a concurrent update or delete).

  KEYS[1]  entry key          url-shortener:link:{<code>}
  KEYS[2]  version floor key  url-shortener:link-version:{<code>}  (same hash tag, same slot)
  ARGV[1]  value (JSON)
  ARGV[2]  version of the value (the row's updated_at, strictly increasing per link)
  ARGV[3]  entry TTL in milliseconds

  Output: 1 when stored, 0 when refused as stale.
]]
local floor = tonumber(redis.call('GET', KEYS[2]) or '-1')
if tonumber(ARGV[2]) < floor then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
