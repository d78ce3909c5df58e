--[[
  watch: a process starts (p.delta = 1) or stops (-1) listening to a job's events; while the count is above
  zero, transitions publish them.

  Input:
    KEYS[1] job record (hash; its `watchers` field)
    ARGV[1] WatchParams, JSON (params.ts)

  Output:
    the count (0 for a job that does not exist)
]]
local rcall = redis.call
local p = cjson.decode(ARGV[1])
--- @include "includes/check-arguments"

local jobKey = KEYS[1]
checkArguments('watch', 2, 2)

if rcall('EXISTS', jobKey) == 0 then return 0 end
local n = rcall('HINCRBY', jobKey, 'watchers', p.delta)
if n < 0 then rcall('HSET', jobKey, 'watchers', 0) end
return n
