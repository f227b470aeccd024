--[[
  GCRA, the generic cell rate algorithm (leaky bucket as a meter), with redis-cell's
  CL.THROTTLE semantics: one number per key, the theoretical arrival time (TAT) at which the
  bucket would be empty. A request of cost c moves it to max(TAT, now) + c*T and is allowed when
  that lies at most capacity*T ahead of now. Integer microseconds throughout, as in gcra.ts
  (redis-cell uses integer nanoseconds; a double holds epoch microseconds exactly).

  Input:
    KEYS[1] TAT string <prefix>{<key>}:gcra   epoch microseconds
    ARGV[1] T          emission interval in microseconds: ceil(windowMs * 1000 / limit)
    ARGV[2] capacity   burst (default limit): requests that may pass at once
    ARGV[3] cost       units to take; 0 peeks; negative gives -cost back (refund)
    ARGV[4] count      consumes of `cost` decided in a row (a coalesced batch; default 1)

  Output (redis-cell's reply, times in ms rounded up, plus how many of the count passed):
    { limited (0|1), limit (capacity), remaining, retry_after (-1 when allowed), reset_after,
      admitted }
  With count > 1 the first `admitted` consumes pass; the rest, if any, are denied with the
  reply's values (limited = 1), as the same consumes one by one would be.

  The key expires at its TAT: from then on a missing key and the stored one decide alike.
]]
local key = KEYS[1]
local interval = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local count = tonumber(ARGV[4] or '1')
local tolerance = capacity * interval

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])

local tat = tonumber(redis.call('GET', key) or '0')
if tat < now then
  tat = now
end

if cost < 0 then
  local refunded = math.max(now, tat + cost * interval)
  if refunded > now then
    redis.call('SET', key, string.format('%.0f', refunded), 'PX', math.ceil((refunded - now) / 1000))
  else
    redis.call('DEL', key)
  end
  return { 0, capacity, 0, -1, 0, 0 }
end

-- As many of the count as fit, one after another: each moves the TAT by cost * T.
local admitted = 0
while admitted < count and now >= tat + cost * interval - tolerance do
  tat = tat + cost * interval
  admitted = admitted + 1
end

local ttl = tat - now
if admitted > 0 and cost > 0 then
  -- %.0f: tostring would print 1.7e+15 and lose the microseconds.
  redis.call('SET', key, string.format('%.0f', tat), 'PX', math.ceil(ttl / 1000))
end
local remaining = math.max(0, math.floor((tolerance - ttl) / interval))
if admitted < count then
  local allow_at = tat + cost * interval - tolerance
  local retry_after = math.ceil((allow_at - now) / 1000)
  return { 1, capacity, remaining, retry_after, math.ceil(ttl / 1000), admitted }
end
return { 0, capacity, remaining, -1, math.ceil(ttl / 1000), admitted }
