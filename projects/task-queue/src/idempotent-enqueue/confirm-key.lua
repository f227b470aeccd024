--[[
  Records that the job holding an idempotency key was added. Does nothing if the claim expired
  or belongs to another job id (never recreates a claim without its lifetime).

  Input:
    KEYS[1] the key's claim
    ARGV[1] job id

  Output:
    1 if confirmed, 0 otherwise
]]
if redis.call('HGET', KEYS[1], 'jobId') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'state', 'added')
  return 1
end
return 0
