--[[
  Claims an idempotency key for a job id, or answers the job id that already holds it.

  Input:
    KEYS[1] the key's claim (a hash: jobId, fingerprint, state)

    ARGV[1] job id to claim the key for
    ARGV[2] fingerprint of the request (same key, other request: a client bug)
    ARGV[3] lifetime of the claim in ms

  Output:
    {1, jobId, 'pending', fingerprint}  claimed now: add the job, then confirm
    {0, jobId, state, fingerprint}      held already; state 'pending' (its add may not have
                                        landed) or 'added'
]]
local held = redis.call('HMGET', KEYS[1], 'jobId', 'state', 'fingerprint')
if held[1] then
  return { 0, held[1], held[2], held[3] }
end
redis.call('HSET', KEYS[1], 'jobId', ARGV[1], 'state', 'pending', 'fingerprint', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return { 1, ARGV[1], 'pending', ARGV[2] }
