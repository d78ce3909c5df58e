--[[
  start: a stage begins; the job is marked running and stage.started emitted. Guard: the job exists, has not
  ended, and is at this stage (a stage job retried after its hand-off finds the job moved on) and in this run
  (p.run: a stage job of a run that was retried since finds the job in a later run).

  Input:
    KEYS[1] job record (hash)
    KEYS[2] job events (stream)
    ARGV[1] StartParams, JSON (params.ts)

  Output:
    {'ok', hash fields…}   the record before the change (HGETALL)
    {'skip', why}          'missing', the job's terminal status, 'stage <its stage>' or 'run'
]]
local rcall = redis.call
local p = cjson.decode(ARGV[1])
--- @include "includes/check-arguments"
--- @include "includes/is-terminal"
--- @include "includes/emit"
--- @include "includes/same-run"

local jobKey, eventsKey = KEYS[1], KEYS[2]
checkArguments('start', 3, 2)

local h = rcall('HGETALL', jobKey)
if #h == 0 then return { 'skip', 'missing' } end
local status, stage, watchers, retries
for i = 1, #h, 2 do
  local f = h[i]
  if f == 'status' then status = h[i + 1] elseif f == 'stage' then stage = h[i + 1]
  elseif f == 'watchers' then watchers = h[i + 1] elseif f == 'retries' then retries = h[i + 1] end
end
if isTerminal(status) then return { 'skip', status } end
if stage ~= p.stage then return { 'skip', 'stage ' .. tostring(stage) } end
if not sameRun(retries) then return { 'skip', 'run' } end
rcall('HSET', jobKey, 'status', 'running', 'updated_at', p.now)
emit(eventsKey, p.channel, p.event, watchers)
return { 'ok', h }
