--[[
  Appends a message to a room's log once per client message id: the next sequence number, the
  stream entry <seq>-0 and the dedupe key, in one atomic step. Every key carries the room's hash
  tag, so on a cluster they live in one slot.

  Input:
    KEYS[1] the room's sequence counter    <prefix>{room:<id>}:seq
    KEYS[2] the room's stream              <prefix>{room:<id>}:log
    KEYS[3] the message's dedupe key       <prefix>{room:<id>}:dedupe:<sender>:<clientId>

    ARGV[1] sender
    ARGV[2] client message id
    ARGV[3] body
    ARGV[4] now, in ms (the message's `at`)
    ARGV[5] most entries the stream keeps
    ARGV[6] most age of an entry, in ms
    ARGV[7] how long a client id is remembered, in ms

  Output:
    { seq, at, duplicate }  duplicate is 1 when the client id was seen: seq and at are the
                            first copy's, and nothing was written.
]]
local rcall = redis.call
local now = tonumber(ARGV[4])

local earlier = rcall('GET', KEYS[3])
if earlier then
  local sep = string.find(earlier, ':', 1, true)
  return { tonumber(string.sub(earlier, 1, sep - 1)), tonumber(string.sub(earlier, sep + 1)), 1 }
end

local seq = rcall('INCR', KEYS[1])
-- The stream ID is the sequence number itself: a resume from seq N is XRANGE (N-0 +, and an ID
-- that is not above the last one (a lost counter) fails the append instead of reusing a seq.
rcall('XADD', KEYS[2], 'MAXLEN', ARGV[5], seq .. '-0',
  's', ARGV[1], 'c', ARGV[2], 'b', ARGV[3], 't', ARGV[4])
rcall('SET', KEYS[3], seq .. ':' .. ARGV[4], 'PX', ARGV[7])

-- Age bound. An idle room's whole stream expires max-age after its last message; in a busy one
-- each append drops up to 16 of the oldest entries that are over age, which outpaces the one
-- it adds.
local maxAge = tonumber(ARGV[6])
rcall('PEXPIRE', KEYS[2], maxAge)
local oldest = rcall('XRANGE', KEYS[2], '-', '+', 'COUNT', 16)
local keepFrom = nil
for _, entry in ipairs(oldest) do
  local fields = entry[2]
  local at = 0
  for i = 1, #fields, 2 do
    if fields[i] == 't' then at = tonumber(fields[i + 1]) end
  end
  if at >= now - maxAge then
    keepFrom = entry[1]
    break
  end
end
if keepFrom == nil and #oldest > 0 then
  local last = oldest[#oldest][1]
  keepFrom = (tonumber(string.sub(last, 1, string.find(last, '-', 1, true) - 1)) + 1) .. '-0'
end
if keepFrom ~= nil and keepFrom ~= oldest[1][1] then
  rcall('XTRIM', KEYS[2], 'MINID', keepFrom)
end

return { seq, now, 0 }
