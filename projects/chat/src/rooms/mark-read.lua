--[[
  Moves a member's read receipt forward, never back (receipts from two tabs may arrive in any
  order).

  Input:
    KEYS[1] the room's receipts hash   <prefix>{room:<id>}:read
    KEYS[2] the room's members hash    <prefix>{room:<id>}:members

    ARGV[1] user
    ARGV[2] seq read

  Output:
    the receipt after the call; -1 when the user is not a member
]]
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return -1 end
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local seq = tonumber(ARGV[2])
if seq > current then
  redis.call('HSET', KEYS[1], ARGV[1], seq)
  return seq
end
return current
