--[[
  Fixed window: one counter per window [k*windowMs, (k+1)*windowMs), aligned on Redis time.
  Same arithmetic as fixed-window.ts.

  Input:
    KEYS[1] state hash <prefix>{<key>}:fw   fields w (window index), c (count)
    ARGV[1] limit      units per window
    ARGV[2] windowMs
    ARGV[3] cost       units to take; 0 peeks; negative gives -cost back (refund)

  Output (redis-cell's shape, times in ms):
    { limited (0|1), limit, remaining, retry_after (-1 when allowed), reset_after }

  The key expires at the end of its window, so none outlives the window that wrote it.
]]
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window_ms = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])

-- Redis time, never the app's: every app server agrees on the window edges.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window = math.floor(now / window_ms)
local window_end = (window + 1) * window_ms

local state = redis.call('HMGET', key, 'w', 'c')
local count = 0
if tonumber(state[1]) == window then
  count = tonumber(state[2])
end

if cost < 0 then
  if count > 0 then
    redis.call('HSET', key, 'c', math.max(0, count + cost))
  end
  return { 0, limit, 0, -1, 0 }
end

if count + cost > limit then
  return { 1, limit, limit - count, window_end - now, window_end - now }
end

if cost > 0 then
  count = count + cost
  redis.call('HSET', key, 'w', window, 'c', count)
  redis.call('PEXPIREAT', key, window_end)
end
return { 0, limit, limit - count, -1, window_end - now }
