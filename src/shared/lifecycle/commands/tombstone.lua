--[[
  tombstone: the first step of deleting an ended job, before its files. The record is marked deleted
  (p.fields: deleted_at, updated_at), loses its outputs (p.remove) and the job is listed among the deletes
  whose files are still to go. The caller then deletes the files and takes the job off that list
  (Lifecycle.filesDeleted); the maintenance sweep finishes a delete cut short in between.

  Input:
    KEYS[1]  job record (hash)
    KEYS[2]  deletes in progress (set of job ids)
    ARGV[1]  TombstoneParams, JSON (params.ts)

  Output:
    'ok' | 'already' (a tombstone already) | 'running' (the job has not ended) | 'missing'
]]
local rcall = redis.call
local p = cjson.decode(ARGV[1])
--- @include "includes/check-arguments"
--- @include "includes/is-terminal"

local jobKey, deletingKey = KEYS[1], KEYS[2]
checkArguments('tombstone', 3, 2)

local status, deleted = unpack(rcall('HMGET', jobKey, 'status', 'deleted_at'))
if not status then return 'missing' end
if not isTerminal(status) then return 'running' end
if deleted then return 'already' end
rcall('HSET', jobKey, unpack(p.fields))
if #p.remove > 0 then rcall('HDEL', jobKey, unpack(p.remove)) end
rcall('SADD', deletingKey, p.id)
return 'ok'
