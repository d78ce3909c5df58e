--[[
  patch: writes (and removes) fields of a job that has not ended — whatever its status with p.any — and emits
  p.event when given (e.g. stage.retrying).

  Input:
    KEYS[1] job record (hash)
    KEYS[2] job events (stream)
    ARGV[1] PatchParams, JSON (params.ts)

  Output:
    'ok' | 'skip' (the job is missing, or has ended and p.any is not set)
]]
local rcall = redis.call
local p = cjson.decode(ARGV[1])
--- @include "includes/check-arguments"
--- @include "includes/is-terminal"
--- @include "includes/emit"

local jobKey, eventsKey = KEYS[1], KEYS[2]
checkArguments('patch', 3, 2)

local status, watchers = unpack(rcall('HMGET', jobKey, 'status', 'watchers'))
if not status or (not p.any and isTerminal(status)) then return 'skip' end
if #p.fields > 0 then rcall('HSET', jobKey, unpack(p.fields)) end
if #p.remove > 0 then rcall('HDEL', jobKey, unpack(p.remove)) end
if p.event then emit(eventsKey, p.channel, p.event, watchers) end
return 'ok'
