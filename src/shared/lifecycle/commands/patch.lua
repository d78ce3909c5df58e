--[[
  patch: writes (and removes) fields of a job that has not ended — whatever its status with p.any — and emits
  p.event when given (e.g. stage.retrying). With p.stage (a stage job's patch), only while the job is at that stage.

  Input:
    KEYS[1] job record (hash)
    KEYS[2] job events (stream)
    ARGV[1] PatchParams, JSON (params.ts)

  Output:
    'ok' | 'skip' (the job is missing, has ended and p.any is not set, or moved on from p.stage)
]]
local rcall = redis.call
local p = cjson.decode(ARGV[1])
--- @include "includes/check-arguments"
--- @include "includes/is-terminal"
--- @include "includes/emit"

local jobKey, eventsKey = KEYS[1], KEYS[2]
checkArguments('patch', 3, 2)

local status, watchers, stage = unpack(rcall('HMGET', jobKey, 'status', 'watchers', 'stage'))
if not status or (not p.any and isTerminal(status)) then return 'skip' end
if p.stage and stage ~= p.stage then return 'skip' end
if #p.fields > 0 then rcall('HSET', jobKey, unpack(p.fields)) end
if #p.remove > 0 then rcall('HDEL', jobKey, unpack(p.remove)) end
if p.event then emit(eventsKey, p.channel, p.event, watchers) end
return 'ok'
