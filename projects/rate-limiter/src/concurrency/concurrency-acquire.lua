--[[
  Concurrent-requests limiter (Stripe): take one in-flight slot for a key, if one is free.

  Input:
    KEYS[1] in-flight set  <prefix>{<key>}   ZSET: member = request id, score = lease expiry (ms)
    ARGV[1] limit          most requests in flight at once
    ARGV[2] leaseMs        how long a slot is held if its holder never releases it
    ARGV[3] requestId      unique per request; the release is ZREM <set> <requestId>

  Output:
    { acquired (0|1), inFlight (after this call), oldestLeaseExpiresInMs (-1 when the set is empty) }

  Expired leases are removed before counting, so an instance that crashed while holding slots
  cannot leak them: they come back after leaseMs. The set expires with its newest lease, so an
  idle key leaves nothing behind.
]]
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local lease_ms = tonumber(ARGV[2])
local request_id = ARGV[3]

-- Redis time, never the app's: every app server agrees on when a lease ends.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
local in_flight = redis.call('ZCARD', key)

local oldest = -1
if in_flight > 0 then
  oldest = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2]) - now
end

if in_flight >= limit then
  return { 0, in_flight, oldest }
end

redis.call('ZADD', key, now + lease_ms, request_id)
-- Every lease has the same length, so the one just added is the newest.
redis.call('PEXPIRE', key, lease_ms)
return { 1, in_flight + 1, oldest == -1 and lease_ms or oldest }
