--[[
  Token bucket: `capacity` tokens, refilled continuously at `limit` per windowMs; a request takes
  `cost` tokens or is denied. Same arithmetic as token-bucket.ts (doubles on both sides, the same
  operations in the same order, so both backends decide alike).

  Input:
    KEYS[1] state hash <prefix>{<key>}:tb   fields t (tokens), r (refilled at, ms)
    ARGV[1] limit      tokens refilled per window
    ARGV[2] windowMs
    ARGV[3] cost       tokens to take; 0 peeks; negative gives -cost back (refund)
    ARGV[4] capacity   bucket size (burst, default limit)
    ARGV[5] count      consumes of `cost` decided in a row (a coalesced batch; default 1)

  Output (redis-cell's shape, times in ms, plus how many of the count passed):
    { limited (0|1), limit (capacity), remaining, retry_after (-1 when allowed), reset_after,
      admitted }
  With count > 1 the first `admitted` consumes pass; the rest, if any, are denied with the
  reply's values (limited = 1), as the same consumes one by one would be.

  The key expires when the bucket would be full again: a missing key is a full bucket.
]]
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window_ms = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local capacity = tonumber(ARGV[4])
local count = tonumber(ARGV[5] or '1')
-- Float noise guard: 0.3 + 0.7 tokens must count as one whole token (same value in TS).
local epsilon = 1e-9

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local state = redis.call('HMGET', key, 't', 'r')
local tokens = capacity
if state[1] then
  tokens = tonumber(state[1])
  local elapsed = now - tonumber(state[2])
  if elapsed > 0 then
    tokens = math.min(capacity, tokens + (elapsed * limit) / window_ms)
  end
end

-- Whole ms until the bucket holds `wanted` tokens, by the same epsilon rule as admission.
local function ms_until(wanted)
  return math.max(0, math.ceil(((wanted - tokens - epsilon) * window_ms) / limit))
end

local function save()
  local reset_after = ms_until(capacity)
  if reset_after <= 0 then
    redis.call('DEL', key)
  else
    redis.call('HSET', key, 't', tokens, 'r', now)
    redis.call('PEXPIRE', key, reset_after)
  end
  return reset_after
end

if cost < 0 then
  if state[1] then
    tokens = math.min(capacity, tokens - cost)
    save()
  end
  return { 0, capacity, 0, -1, 0, 0 }
end

-- As many of the count as fit, one after another (the same float steps as one by one).
local admitted = 0
while admitted < count and tokens + epsilon >= cost do
  tokens = math.max(0, tokens - cost)
  admitted = admitted + 1
end

local reset_after
if admitted > 0 and cost > 0 then
  reset_after = save()
else
  reset_after = ms_until(capacity)
end
if admitted < count then
  local remaining = math.floor(tokens + epsilon)
  return { 1, capacity, remaining, ms_until(cost), reset_after, admitted }
end
return { 0, capacity, math.floor(tokens + epsilon), -1, reset_after, admitted }
