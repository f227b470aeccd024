--[[
  Read-through fill: stores a value loaded from the database, unless a change of its link is
  under way (a fence) or has already happened since the value was loaded (the version floor).

  KEYS[1]  entry key  url-shortener:link:<run>:{<code>}
  KEYS[2]  meta key   url-shortener:link:<run>:{<code>}:meta  (same hash tag, same slot)
           hash: floor = version of the last change; fence:<token> = deadline (ms, Redis TIME)
  ARGV[1]  value (JSON)
  ARGV[2]  version of the value (the row's updated_at, strictly increasing per link)
  ARGV[3]  entry TTL in milliseconds

  Output: 1 when stored, 0 when refused (fenced, or older than the floor).
]]
local meta = redis.call('HGETALL', KEYS[2])
local now
for i = 1, #meta, 2 do
  local field, value = meta[i], tonumber(meta[i + 1])
  if field == 'floor' then
    if tonumber(ARGV[2]) < value then
      return 0
    end
  else
    if now == nil then
      local time = redis.call('TIME')
      now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
    end
    if value > now then
      return 0
    end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
