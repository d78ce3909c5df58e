--[[
  accept-batch: a batch and all its jobs are admitted and recorded together, or nothing is written. Admission is
  decided once for the whole batch: the client's jobs in flight + n must stay within the cap, and the batch's
  Idempotency-Key is claimed here, in the same step. Then every job is recorded as accept.lua records one (record,
  client indexes, job.queued, first stage enqueued; fair queuing ranks them after the jobs in flight, in item
  order), and the batch hash and the list of its job ids are written. Nothing gets a TTL here: nothing in flight
  expires (finish.lua starts a job's retention clock, and its batch's when the last job ends).

  Input:
    KEYS[1]  client (hash; its `keyterms` are the client's default keyterms)
    KEYS[2]  client's jobs in flight (set)
    KEYS[3]  client's jobs (sorted set, by creation time)
    KEYS[4]  the batch (hash)
    KEYS[5]  the batch's job ids (list)
    then, with p.idem: the Idempotency-Key (string)
    then, for each item: its job record (hash), its events (stream)
    then, for each item: its first stage's BullMQ add keys
    ARGV[1]  AcceptBatchParams, JSON (params.ts)
    ARGV[2…] each item's prepared BullMQ add (name, #keys, 3 arguments), in item order

  Output:
    {'ok', jobs in flight before, {transcript_options or false, … per item}}
                                      item i (from 1) has rank = jobs in flight before + i
    {'full', jobs in flight}          refused whole: the batch does not fit under the cap
    {'replay', stored value}          the Idempotency-Key was used before
]]
local rcall = redis.call
local p = cjson.decode(ARGV[1])
--- @include "includes/check-arguments"
--- @include "includes/bullmq-add"
--- @include "includes/merge-keyterms"

local clientKey, activeKey, clientJobsKey, batchKey, batchJobsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local k = 6
local idemKey
if p.idem then
  idemKey = KEYS[k]
  k = k + 1
end
local n = #p.items
local jobKeys, eventKeys, adds = {}, {}, {}
for i = 1, n do
  jobKeys[i], eventKeys[i] = KEYS[k], KEYS[k + 1]
  k = k + 2
end
local a = 2
for i = 1, n do
  adds[i], k, a = readAdd(k, a)
end
checkArguments('accept-batch', k, a)

if idemKey then
  local prev = rcall('GET', idemKey)
  if prev then return { 'replay', prev } end
end
local active = rcall('SCARD', activeKey)
if active + n > p.cap then return { 'full', active } end

local defaults = false
for i = 1, n do
  if p.items[i].keyterms then
    defaults = rcall('HGET', clientKey, 'keyterms')
    break
  end
end
-- Every add first: a BullMQ refusal (a negative code, raised as an error) stops the script before any record,
-- the batch or the claim is written (stage jobs added before it find no record when they start, and skip).
local priorities = {}
for i = 1, n do
  if p.fair then priorities[i] = math.min(active + i, 2097151) end
  bullmq_add(adds[i], priorities[i])
end
local ids, allOptions = {}, {}
for i = 1, n do
  local item = p.items[i]
  local priority = priorities[i]
  local fields = item.fields
  local options = false
  if item.keyterms then
    options = mergeKeyterms(defaults, item.keyterms)
    if options then
      table.insert(fields, 'transcript_options')
      table.insert(fields, options)
    end
  end
  if priority then
    table.insert(fields, 'priority')
    table.insert(fields, priority)
  end
  rcall('HSET', jobKeys[i], unpack(fields))
  rcall('ZADD', clientJobsKey, item.created, item.id)
  rcall('SADD', activeKey, item.id)
  rcall('XADD', eventKeys[i], 'MAXLEN', '~', 200, '*', 'type', 'job.queued', 'data', item.event)
  ids[i] = item.id
  allOptions[i] = options
end
rcall('HSET', batchKey, unpack(p.batch))
for i = 1, n, 1000 do
  rcall('RPUSH', batchJobsKey, unpack(ids, i, math.min(i + 999, n)))
end
if idemKey then rcall('SET', idemKey, p.idem[1], 'EX', p.idem[2]) end
return { 'ok', active, allOptions }
