--[[
  handoff: a stage's output is recorded, stage.completed emitted and the next stage enqueued. Guard: the job
  exists, has not ended, and is still at the stage that hands off, in the run (p.run) that hands off.

  Input:
    KEYS[1]  job record (hash)
    KEYS[2]  job events (stream)
    KEYS[3…] the next stage's BullMQ add keys
    ARGV[1]  HandoffParams, JSON (params.ts)
    ARGV[2…] the next stage's prepared BullMQ add (name, #keys, 3 arguments)

  Output:
    'ok' | 'skip' (the job ended or moved on)
]]
local rcall = redis.call
local p = cjson.decode(ARGV[1])
--- @include "includes/check-arguments"
--- @include "includes/is-terminal"
--- @include "includes/emit"
--- @include "includes/same-run"
--- @include "includes/bullmq-add"

local jobKey, eventsKey = KEYS[1], KEYS[2]
local add, nextKey, nextArg = readAdd(3, 2)
checkArguments('handoff', nextKey, nextArg)

local status, stage, watchers, retries = unpack(rcall('HMGET', jobKey, 'status', 'stage', 'watchers', 'retries'))
if not status or isTerminal(status) or stage ~= p.stage or not sameRun(retries) then return 'skip' end
bullmq_add(add)
rcall('HSET', jobKey, unpack(p.fields))
emit(eventsKey, p.channel, p.event, watchers)
return 'ok'
