--[[
  Adds a job to its tenant's backlog; the tenant joins the round-robin ring if it was idle.

  Input:
    KEYS[1] jobs hash (job id -> payload)
    KEYS[2] ring list (tenants with a backlog, in turn order)
    KEYS[3] the tenant's backlog list (job ids, oldest first)

    ARGV[1] job id
    ARGV[2] tenant
    ARGV[3] payload (JSON)

  Output:
    1 if added, 0 if a job with this id is already in the backlog
]]
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[3]) == 0 then
  return 0
end
if redis.call('RPUSH', KEYS[3], ARGV[1]) == 1 then
  redis.call('RPUSH', KEYS[2], ARGV[2])
end
return 1
