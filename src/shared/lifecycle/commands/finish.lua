--[[
  finish: the job ends (succeeded, failed or canceled) — once. The record gets its terminal fields and the
  retention TTL (its first: nothing in flight expires), leaves the client's in-flight set, enters the retention
  index (with its client and batch, for the sweep to trim their lists once the record is gone); the terminal
  event is emitted
  (after the last stage's stage.completed, when given) and published on the `ended` channel; a cancel is
  announced to the workers; the job's webhook (when the job has a webhook_url) and its batch's (when this job
  completes the batch and the batch has a webhook_url) are enqueued; the batch that completes gets the retention
  TTL. With p.stage, the job must still be at that
  stage (a stage job ending the job it runs); with p.run, in that run (not one retried since).

  Input:
    KEYS[1]  job record (hash)
    KEYS[2]  job events (stream)
    KEYS[3]  ended jobs, by end time (sorted set: the retention index)
    KEYS[4]  the retention index's owners (hash: id → JSON [client, batch or ''])
    KEYS[5]  the client's jobs in flight (set; p.client must be the record's client_id)
    KEYS[6]  the job's batch (hash) — only with p.batch (the record's batch_id)
    KEYS[7]  the batch's job ids (list) — only with p.batch
    then the job webhook's BullMQ add keys, then the batch webhook's
    ARGV[1]  FinishParams, JSON (params.ts)
    ARGV[2…] the job webhook's prepared BullMQ add, or ''; then the batch webhook's, or ''

  Output:
    'ok' | 'skip' (the job had ended already, is missing, or moved on from p.stage or p.run)
]]
local rcall = redis.call
local p = cjson.decode(ARGV[1])
--- @include "includes/check-arguments"
--- @include "includes/is-terminal"
--- @include "includes/emit"
--- @include "includes/same-run"
--- @include "includes/bullmq-add"

local jobKey, eventsKey, finishedKey, ownersKey, activeKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local k = 6
local batchKey, batchJobsKey
if p.batch then
  batchKey, batchJobsKey = KEYS[6], KEYS[7]
  k = 8
end
local jobAdd, batchAdd, nextKey, nextArg
jobAdd, nextKey, nextArg = readAdd(k, 2)
batchAdd, nextKey, nextArg = readAdd(nextKey, nextArg)
checkArguments('finish', nextKey, nextArg)

local status, client, batch, webhookUrl, stage, watchers, retries = unpack(rcall('HMGET', jobKey, 'status',
  'client_id', 'batch_id', 'webhook_url', 'stage', 'watchers', 'retries'))
if not status or isTerminal(status) then return 'skip' end
if p.stage and stage ~= p.stage then return 'skip' end
if not sameRun(retries) then return 'skip' end
if (client or nil) ~= p.client or (batch or nil) ~= p.batch then
  error({ err = 'ERR voicebot finish: the keys given are for client ' .. tostring(p.client) .. ', batch ' ..
    tostring(p.batch) .. '; the job belongs to ' .. tostring(client) .. ', ' .. tostring(batch) })
end
if webhookUrl and jobAdd then bullmq_add(jobAdd) end
local fields = p.fields
if webhookUrl then
  table.insert(fields, 'webhook')
  table.insert(fields, p.webhook)
end
rcall('HSET', jobKey, unpack(fields))
-- each run's webhook starts its deliveries afresh (an earlier run's redelivery sequence does not carry over)
if webhookUrl then rcall('HDEL', jobKey, 'webhook_delivery') end
rcall('EXPIRE', jobKey, p.retention)
rcall('ZADD', finishedKey, p.now_ms, p.id)
rcall('HSET', ownersKey, p.id, cjson.encode({ p.client, p.batch or '' }))
rcall('SREM', activeKey, p.id)
if p.completed then emit(eventsKey, p.channel, p.completed, watchers) end
rcall('PUBLISH', p.ended, p.id .. '\n' .. emit(eventsKey, p.channel, p.event, watchers))
rcall('EXPIRE', eventsKey, p.retention)
if p.status == 'canceled' then rcall('PUBLISH', p.cancel, p.id) end
if batchKey and rcall('EXISTS', batchKey) == 1 then
  local ended = rcall('HINCRBY', batchKey, 'ended', 1)
  if ended == tonumber(rcall('HGET', batchKey, 'total')) then
    rcall('HSET', batchKey, 'completed_at', p.now)
    rcall('EXPIRE', batchKey, p.retention)
    rcall('EXPIRE', batchJobsKey, p.retention)
    -- The batch's deliver job has no parent: BullMQ has no negative code for it.
    if batchAdd and rcall('HEXISTS', batchKey, 'webhook_url') == 1 then bullmq_add(batchAdd) end
  end
end
return 'ok'
