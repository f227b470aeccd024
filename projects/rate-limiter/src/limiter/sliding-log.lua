--[[
  Sliding log: every admitted request stays in a sorted set, scored by its time, for windowMs;
  a request is admitted when the costs logged in (now - windowMs, now] plus its own fit the
  limit. Members are "<seq>:<cost>" with a per-key sequence, so two requests in the same
  millisecond stay two members. The running total sits beside the log so admitting does not
  sum the whole set. Same decisions as sliding-log.ts.

  Input:
    KEYS[1] log        sorted set <prefix>{<key>}:sl       member "<seq>:<cost>", score = ms
    KEYS[2] totals     hash       <prefix>{<key>}:sl:meta  fields n (sum of costs), s (sequence)
    ARGV[1] limit      units per window
    ARGV[2] windowMs
    ARGV[3] cost       units to take; 0 peeks; negative gives -cost back, newest entries first
    ARGV[4] count      consumes of `cost` decided in a row (a coalesced batch; default 1)

  Output (redis-cell's shape, times in ms, plus how many of the count passed):
    { limited (0|1), limit, remaining, retry_after (-1 when allowed), reset_after, admitted }
  With count > 1 the first `admitted` consumes pass (logged as one entry of admitted * cost:
  they share their time); the rest, if any, are denied with the reply's values (limited = 1),
  as the same consumes one by one would be.

  Both keys share the hash tag {<key>} (one Cluster slot) and expire together, windowMs after
  the newest entry.
]]
local log_key = KEYS[1]
local meta_key = KEYS[2]
local limit = tonumber(ARGV[1])
local window_ms = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local count = tonumber(ARGV[4] or '1')

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local function cost_of(member)
  return tonumber(string.match(member, ':(%d+)$'))
end

-- Drop what left the window, keeping the total in step.
local total = tonumber(redis.call('HGET', meta_key, 'n') or '0')
local expired = redis.call('ZRANGEBYSCORE', log_key, '-inf', now - window_ms)
if #expired > 0 then
  for i = 1, #expired do
    total = total - cost_of(expired[i])
  end
  redis.call('ZREMRANGEBYSCORE', log_key, '-inf', now - window_ms)
end

-- Newest entry's time, or nil when the log is empty.
local function newest()
  local last = redis.call('ZRANGE', log_key, -1, -1, 'WITHSCORES')
  if #last == 0 then
    return nil
  end
  return tonumber(last[2])
end

local function save()
  local last = newest()
  if last == nil or total <= 0 then
    redis.call('DEL', log_key, meta_key)
    return
  end
  redis.call('HSET', meta_key, 'n', total)
  redis.call('PEXPIREAT', log_key, last + window_ms)
  redis.call('PEXPIREAT', meta_key, last + window_ms)
end

if cost < 0 then
  local left = -cost
  while left > 0 do
    local last = redis.call('ZRANGE', log_key, -1, -1, 'WITHSCORES')
    if #last == 0 then
      break
    end
    local member, score = last[1], last[2]
    local entry = cost_of(member)
    redis.call('ZREM', log_key, member)
    if entry <= left then
      left = left - entry
      total = total - entry
    else
      local seq = redis.call('HINCRBY', meta_key, 's', 1)
      redis.call('ZADD', log_key, score, seq .. ':' .. (entry - left))
      total = total - left
      left = 0
    end
  end
  save()
  return { 0, limit, 0, -1, 0, 0 }
end

-- As many of the count as fit, one after another.
local admitted = 0
while admitted < count and total + cost <= limit do
  total = total + cost
  admitted = admitted + 1
end

if admitted > 0 and cost > 0 then
  local seq = redis.call('HINCRBY', meta_key, 's', 1)
  redis.call('ZADD', log_key, now, seq .. ':' .. (admitted * cost))
  redis.call('HSET', meta_key, 'n', total)
  redis.call('PEXPIREAT', log_key, now + window_ms)
  redis.call('PEXPIREAT', meta_key, now + window_ms)
elseif #expired > 0 then
  save()
end

if admitted < count then
  -- Walk the oldest entries until enough cost would have left the window.
  local must_free = total + cost - limit
  local freed = 0
  local free_at = now
  local offset = 0
  while freed < must_free do
    local page = redis.call('ZRANGE', log_key, offset, offset + 99, 'WITHSCORES')
    if #page == 0 then
      break
    end
    for i = 1, #page, 2 do
      freed = freed + cost_of(page[i])
      free_at = tonumber(page[i + 1])
      if freed >= must_free then
        break
      end
    end
    offset = offset + 100
  end
  local reset_after = (newest() or now) + window_ms - now
  return { 1, limit, limit - total, free_at + window_ms - now, reset_after, admitted }
end

local reset_after = 0
if cost > 0 then
  reset_after = window_ms
elseif total > 0 then
  reset_after = newest() + window_ms - now
end
return { 0, limit, limit - total, -1, reset_after, admitted }
