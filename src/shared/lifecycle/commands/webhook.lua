--[[
  webhook: records one delivery attempt of a job's or a batch's webhook (or, with no attempt, a redelivery going
  out), keeping the last p.max attempts; a redelivery also enqueues its deliver job.

  Input:
    KEYS[1]  the job record or the batch (hash) whose `webhook` state this is
    KEYS[2…] the redelivery's BullMQ add keys (none without one)
    ARGV[1]  WebhookParams, JSON (params.ts)
    ARGV[2…] the redelivery's prepared BullMQ add, or ''

  Output:
    'ok'
]]
local rcall = redis.call
local p = cjson.decode(ARGV[1])
--- @include "includes/check-arguments"
--- @include "includes/bullmq-add"

local key = KEYS[1]
local add, nextKey, nextArg = readAdd(2, 2)
checkArguments('webhook', nextKey, nextArg)

if add then bullmq_add(add) end
local current = rcall('HGET', key, 'webhook')
local attempts = {}
if current then attempts = cjson.decode(current).attempts or {} end
if p.attempt then
  table.insert(attempts, cjson.decode(p.attempt))
  while #attempts > p.max do table.remove(attempts, 1) end
end
local encoded = '[]'
if #attempts > 0 then encoded = cjson.encode(attempts) end
rcall('HSET', key, 'webhook', '{"event_id":' .. cjson.encode(p.event_id) .. ',"event_type":' ..
  cjson.encode(p.event_type) .. ',"status":' .. cjson.encode(p.status) .. ',"attempts":' .. encoded .. '}')
return 'ok'
