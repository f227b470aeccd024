--[[
  Takes up to ARGV[2] jobs from the backlogs, one per tenant in turn (round robin), and marks
  them in flight until they are acknowledged (added to the BullMQ queue).

  The tenants' backlog keys are built here from the ring, so every key must share the hash tag
  of the declared keys (Redis Cluster runs a script on the slot of its keys).

  Input:
    KEYS[1] jobs hash
    KEYS[2] ring list
    KEYS[3] in-flight sorted set (job id, scored by when it was taken)

    ARGV[1] prefix of the tenants' backlog keys
    ARGV[2] most jobs to take
    ARGV[3] now (ms)

  Output:
    { id1, payload1, id2, payload2, ... }
]]
local taken = {}
local turns = tonumber(ARGV[2])
-- A cancelled job leaves its id in a backlog: skipping it costs a turn, bounded below.
local budget = turns * 2
while turns > 0 and budget > 0 do
  budget = budget - 1
  local tenant = redis.call('LPOP', KEYS[2])
  if not tenant then
    break
  end
  local backlog = ARGV[1] .. tenant
  local id = redis.call('LPOP', backlog)
  if redis.call('LLEN', backlog) > 0 then
    redis.call('RPUSH', KEYS[2], tenant)
  end
  if id then
    local payload = redis.call('HGET', KEYS[1], id)
    if payload then
      redis.call('ZADD', KEYS[3], ARGV[3], id)
      taken[#taken + 1] = id
      taken[#taken + 1] = payload
      turns = turns - 1
    end
  end
end
return taken
