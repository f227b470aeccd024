--[[
  Removes a job from its tenant's backlog before it is dispatched. Its id stays in the tenant's
  list and is skipped when its turn comes (removing it there would be O(backlog)).

  Input:
    KEYS[1] jobs hash
    KEYS[2] in-flight sorted set
    ARGV[1] job id

  Output:
    1 if cancelled, 0 if unknown or already on its way to the queue
]]
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  return 0
end
return redis.call('HDEL', KEYS[1], ARGV[1])
