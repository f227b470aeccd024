--[[
  Forgets jobs that are now in the BullMQ queue.

  Input:
    KEYS[1] jobs hash
    KEYS[2] in-flight sorted set
    ARGV    job ids

  Output:
    number of jobs forgotten
]]
local n = 0
for _, id in ipairs(ARGV) do
  n = n + redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[1], id)
end
return n
