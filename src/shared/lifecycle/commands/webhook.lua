--[[
  webhook: records one delivery attempt of a job's or a batch's webhook (or, with no attempt, a redelivery going
  out), keeping the last p.max attempts; a redelivery also enqueues its deliver job. Guarded: the hash must
  exist (an attempt never re-creates an expired record or batch, which would then have no TTL), and an attempt
  of an older delivery never overwrites the status a newer one wrote. p.delivery says which delivery this is
  (0 the first; a redelivery's sequence, larger for a newer one); the hash's `webhook_delivery` holds the newest
  started. An older delivery's attempt is kept in the history, the status left alone.

  Input:
    KEYS[1]  the job record or the batch (hash) whose `webhook` state this is
    KEYS[2…] the redelivery's BullMQ add keys (none without one)
    ARGV[1]  WebhookParams, JSON (params.ts)
    ARGV[2…] the redelivery's prepared BullMQ add, or ''

  Output:
    'ok' | 'stale' (an older delivery's attempt: recorded, status unchanged; or an attempt for another event than
    the hash's, e.g. an earlier run's of a retried job: nothing written) | 'missing' (nothing written)
]]
local rcall = redis.call
local p = cjson.decode(ARGV[1])
--- @include "includes/check-arguments"
--- @include "includes/bullmq-add"

local key = KEYS[1]
local add, nextKey, nextArg = readAdd(2, 2)
checkArguments('webhook', nextKey, nextArg)

local current, latest = unpack(rcall('HMGET', key, 'webhook', 'webhook_delivery'))
if not current and rcall('EXISTS', key) == 0 then return 'missing' end
latest = tonumber(latest or 0)
if add then bullmq_add(add) end
local attempts, status = {}, p.status
if current then
  local state = cjson.decode(current)
  -- an attempt for an earlier run's event (the job was retried since): that run's state is gone, write nothing
  if state.event_id ~= p.event_id then return 'stale' end
  attempts = state.attempts or {}
  if p.delivery < latest then status = state.status end
end
if p.attempt then
  table.insert(attempts, cjson.decode(p.attempt))
  while #attempts > p.max do table.remove(attempts, 1) end
end
local encoded = '[]'
if #attempts > 0 then encoded = cjson.encode(attempts) end
rcall('HSET', key, 'webhook', '{"event_id":' .. cjson.encode(p.event_id) .. ',"event_type":' ..
  cjson.encode(p.event_type) .. ',"status":' .. cjson.encode(status) .. ',"attempts":' .. encoded .. '}')
if p.delivery > latest then rcall('HSET', key, 'webhook_delivery', p.delivery) end
if p.delivery < latest then return 'stale' end
return 'ok'
