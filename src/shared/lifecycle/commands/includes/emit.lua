--[[
  emit(streamKey, channel, ev, watchers): appends the event ev = {type, JSON data} to a job's stream and, while
  someone listens to the job (its record's `watchers` > 0), publishes it on the job's channel.
  Returns the message: stream id, type and data, each on its own line.
]]
local function emit(streamKey, channel, ev, watchers)
  local sid = rcall('XADD', streamKey, 'MAXLEN', '~', 200, '*', 'type', ev[1], 'data', ev[2])
  local message = sid .. '\n' .. ev[1] .. '\n' .. ev[2]
  if tonumber(watchers or 0) > 0 then rcall('PUBLISH', channel, message) end
  return message
end
