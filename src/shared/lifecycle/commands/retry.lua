--[[
  retry: a failed or canceled job is re-opened at the stage it ended in, as a new run: status queued, its error,
  end time and last webhook state (with its delivery sequence) cleared, `retries` counted; it re-enters the client's in-flight set (refused,
  with nothing changed, when the client has p.cap jobs in flight), leaves the retention index and its owners
  hash, loses its TTLs (nothing in flight expires), is no longer counted among its batch's ended jobs (the batch
  is running again, without a TTL);
  job.retried is emitted and the stage's BullMQ job for the new run is enqueued. Every completed stage's output
  stays in the record (and in storage), so no stage that succeeded runs again.
  Guard: the job is failed or canceled, not deleted, and still at p.stage in run p.run - 1 (what the caller read
  and prepared the add from; a concurrent retry that won makes it 'status').

  Input:
    KEYS[1]  job record (hash)
    KEYS[2]  job events (stream)
    KEYS[3]  ended jobs, by end time (sorted set: the retention index)
    KEYS[4]  the retention index's owners (hash)
    KEYS[5]  the client's jobs in flight (set; p.client must be the record's client_id)
    KEYS[6]  the job's batch (hash) — only with p.batch (the record's batch_id)
    KEYS[7]  the batch's job ids (list) — only with p.batch
    then the stage's BullMQ add keys
    ARGV[1]  RetryParams, JSON (params.ts)
    ARGV[2…] the stage's prepared BullMQ add (name, #keys, 3 arguments)

  Output:
    {'ok'} | {'missing'} | {'status', its status} | {'deleted'} | {'changed'} | {'full', jobs in flight}
]]
local rcall = redis.call
local p = cjson.decode(ARGV[1])
--- @include "includes/check-arguments"
--- @include "includes/emit"
--- @include "includes/is-terminal"
--- @include "includes/bullmq-add"

local jobKey, eventsKey, finishedKey, ownersKey, activeKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local k = 6
local batchKey, batchJobsKey
if p.batch then
  batchKey, batchJobsKey = KEYS[6], KEYS[7]
  k = 8
end
local add, nextKey, nextArg = readAdd(k, 2)
checkArguments('retry', nextKey, nextArg)

local status, client, batch, stage, retries, deleted, watchers = unpack(rcall('HMGET', jobKey, 'status',
  'client_id', 'batch_id', 'stage', 'retries', 'deleted_at', 'watchers'))
if not status then return { 'missing' } end
if not isTerminal(status) or status == 'succeeded' then return { 'status', status } end
if deleted then return { 'deleted' } end
if stage ~= p.stage or tonumber(retries or 0) + 2 ~= p.run then return { 'changed' } end
if (client or nil) ~= p.client or (batch or nil) ~= p.batch then
  error({ err = 'ERR voicebot retry: the keys given are for client ' .. tostring(p.client) .. ', batch ' ..
    tostring(p.batch) .. '; the job belongs to ' .. tostring(client) .. ', ' .. tostring(batch) })
end
local active = rcall('SCARD', activeKey)
if active + 1 > p.cap then return { 'full', active } end
bullmq_add(add)
rcall('HSET', jobKey, 'status', 'queued', 'retries', p.run - 1, 'updated_at', p.now)
rcall('HDEL', jobKey, 'error', 'finished_at', 'webhook', 'webhook_delivery')
rcall('PERSIST', jobKey)
rcall('PERSIST', eventsKey)
rcall('ZREM', finishedKey, p.id)
rcall('HDEL', ownersKey, p.id)
rcall('SADD', activeKey, p.id)
if batchKey and rcall('EXISTS', batchKey) == 1 then
  rcall('HINCRBY', batchKey, 'ended', -1)
  rcall('HDEL', batchKey, 'completed_at')
  -- a batch completed before has the retention TTL: running again, it keeps no TTL until it completes again
  rcall('PERSIST', batchKey)
  rcall('PERSIST', batchJobsKey)
end
emit(eventsKey, p.channel, p.event, watchers)
return { 'ok' }
