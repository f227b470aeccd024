--[[
  Fixed window: one counter per window [k*windowMs, (k+1)*windowMs), aligned on Redis time.
  Same arithmetic as fixed-window.ts.

  Input:
    KEYS[1] state hash <prefix>{<key>}:fw   fields w (window index), c (count)
    ARGV[1] limit      units per window
    ARGV[2] windowMs
    ARGV[3] cost       units to take; 0 peeks; negative gives -cost back (refund)
    ARGV[4] count      consumes of `cost` decided in a row (a coalesced batch; default 1)

  Output (redis-cell's shape, times in ms, plus how many of the count passed):
    { limited (0|1), limit, remaining, retry_after (-1 when allowed), reset_after, admitted }
  With count > 1 the first `admitted` consumes pass; the rest, if any, are denied with the
  reply's values (limited = 1), as the same consumes one by one would be.

  The key expires at the end of its window, so none outlives the window that wrote it.
]]
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window_ms = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local count = tonumber(ARGV[4] or '1')

-- Redis time, never the app's: every app server agrees on the window edges.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window = math.floor(now / window_ms)
local window_end = (window + 1) * window_ms

local state = redis.call('HMGET', key, 'w', 'c')
local used = 0
if tonumber(state[1]) == window then
  used = tonumber(state[2])
end

if cost < 0 then
  if used > 0 then
    redis.call('HSET', key, 'c', math.max(0, used + cost))
  end
  return { 0, limit, 0, -1, 0, 0 }
end

-- As many of the count as fit, one after another.
local admitted = 0
while admitted < count and used + cost <= limit do
  used = used + cost
  admitted = admitted + 1
end

if admitted > 0 and cost > 0 then
  redis.call('HSET', key, 'w', window, 'c', used)
  redis.call('PEXPIREAT', key, window_end)
end
if admitted < count then
  return { 1, limit, limit - used, window_end - now, window_end - now, admitted }
end
return { 0, limit, limit - used, -1, window_end - now, admitted }
