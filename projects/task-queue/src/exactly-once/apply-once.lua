--[[
  Applies a list of writes at most once per effect id, atomically with the marker that records
  it: either the marker is set and every write is applied, or (the marker existed) nothing is.

  Input:
    KEYS[1]    the effect's marker key
    KEYS[2..n] the key of each write, in order

    ARGV[1]    marker lifetime in seconds
    ARGV[2]    the marker's value (when the effect was applied, ms since the epoch)
    ARGV[3]    JSON array of writes, each [command, arg1, arg2, ...] without its key

  Output:
    {1, value} when applied now; {0, value of the existing marker} when it already was.
]]
local existing = redis.call('GET', KEYS[1])
if existing then
  return { 0, existing }
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[1])
local writes = cjson.decode(ARGV[3])
for i, write in ipairs(writes) do
  local command = table.remove(write, 1)
  redis.call(command, KEYS[i + 1], unpack(write))
end
return { 1, ARGV[2] }
