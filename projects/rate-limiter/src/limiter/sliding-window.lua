--[[
  Sliding window counter: previous window's count weighted by the share of it still inside the
  sliding window, plus the current count (Cloudflare, upstash slidingWindow). Both counts live
  in one hash, so the script touches one key. Same integer arithmetic as sliding-window.ts:
    previous * left + (current + cost) * windowMs <= limit * windowMs
  where left = ms until the current window ends.

  Input:
    KEYS[1] state hash <prefix>{<key>}:sw   fields w (window index), c (current), p (previous)
    ARGV[1] limit      units per window
    ARGV[2] windowMs
    ARGV[3] cost       units to take; 0 peeks; negative gives -cost back (refund)
    ARGV[4] count      consumes of `cost` decided in a row (a coalesced batch; default 1)

  Output (redis-cell's shape, times in ms, plus how many of the count passed):
    { limited (0|1), limit, remaining, retry_after (-1 when allowed), reset_after, admitted }
  With count > 1 the first `admitted` consumes pass; the rest, if any, are denied with the
  reply's values (limited = 1), as the same consumes one by one would be.

  The key expires when both counts stop mattering: the end of the window after the current one.
]]
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window_ms = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local count = tonumber(ARGV[4] or '1')

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window = math.floor(now / window_ms)
local start = window * window_ms
local left = start + window_ms - now

local state = redis.call('HMGET', key, 'w', 'c', 'p')
local stored = tonumber(state[1])
local current, previous = 0, 0
if stored == window then
  current, previous = tonumber(state[2]), tonumber(state[3])
elseif stored == window - 1 then
  previous = tonumber(state[2])
end

local function save()
  if current == 0 and previous == 0 then
    redis.call('DEL', key)
    return
  end
  redis.call('HSET', key, 'w', window, 'c', current, 'p', previous)
  if current > 0 then
    redis.call('PEXPIREAT', key, start + 2 * window_ms)
  else
    redis.call('PEXPIREAT', key, start + window_ms)
  end
end

if cost < 0 then
  local from_current = math.min(-cost, current)
  current = current - from_current
  previous = math.max(0, previous - (-cost - from_current))
  save()
  return { 0, limit, 0, -1, 0, 0 }
end

-- As many of the count as fit, one after another.
local admitted = 0
while admitted < count and previous * left + (current + cost) * window_ms <= limit * window_ms do
  current = current + cost
  admitted = admitted + 1
end
if admitted > 0 and cost > 0 then
  save()
end

local weighted = previous * left + current * window_ms
if admitted < count then
  local retry_after
  if current + cost <= limit then
    retry_after = left - math.floor(((limit - current - cost) * window_ms) / previous)
  else
    retry_after = left + window_ms - math.floor(((limit - cost) * window_ms) / current)
  end
  local reset_after = left
  if current > 0 then
    reset_after = left + window_ms
  end
  local remaining = math.max(0, math.floor((limit * window_ms - weighted) / window_ms))
  return { 1, limit, remaining, retry_after, reset_after, admitted }
end

local remaining = math.floor((limit * window_ms - weighted) / window_ms)
local reset_after = 0
if current > 0 then
  reset_after = left + window_ms
elseif previous > 0 then
  reset_after = left
end
return { 0, limit, remaining, -1, reset_after, admitted }
