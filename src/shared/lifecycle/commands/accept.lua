--[[
  accept: a new job is admitted (the client's in-flight cap, its Idempotency-Key) and recorded — record, client
  indexes, job.queued — and its first stage enqueued. Nothing is written when it is refused. The record and its
  events get no TTL here: nothing in flight expires; the retention clock starts when the job ends
  (finish.lua), the batch's when its last job ends.

  Input:
    KEYS[1]  job record (hash)
    KEYS[2]  job events (stream)
    KEYS[3]  client (hash; its `keyterms` are the client's default keyterms, a JSON array)
    KEYS[4]  client's jobs in flight (set)
    KEYS[5]  client's jobs (sorted set, by creation time)
    then, with p.idem:  the Idempotency-Key (string)
    then the first stage's BullMQ add keys
    ARGV[1]  AcceptParams, JSON (params.ts)
    ARGV[2…] the first stage's prepared BullMQ add (name, #keys, 3 arguments)

  With p.keyterms, the client's default keyterms are merged in front of the job's own (deduplicated, at most
  p.keyterms.max) into the `transcript_options` template, whose "__KEYTERMS__" placeholder they replace. With
  p.fair, the job's BullMQ priority is its rank among the client's jobs in flight. (A batch: accept-batch.lua.)

  Output:
    {'ok', rank, transcript_options or false}
    {'full', jobs in flight}              refused: the cap is reached
    {'replay', stored value}              the Idempotency-Key was used before
]]
local rcall = redis.call
local p = cjson.decode(ARGV[1])
--- @include "includes/check-arguments"
--- @include "includes/bullmq-add"
--- @include "includes/merge-keyterms"

local jobKey, eventsKey, clientKey, activeKey, clientJobsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local k = 6
local idemKey
if p.idem then
  idemKey = KEYS[k]
  k = k + 1
end
local add, nextKey, nextArg = readAdd(k, 2)
checkArguments('accept', nextKey, nextArg)

if idemKey then
  local prev = rcall('GET', idemKey)
  if prev then return { 'replay', prev } end
end
local active = rcall('SCARD', activeKey)
if active + 1 > p.cap then return { 'full', active } end
local rank = active + 1
local priority = nil
if p.fair then priority = math.min(rank, 2097151) end
bullmq_add(add, priority)

if idemKey then rcall('SET', idemKey, p.idem[1], 'EX', p.idem[2]) end
local fields = p.fields
local options = false
if p.keyterms then
  options = mergeKeyterms(rcall('HGET', clientKey, 'keyterms'), p.keyterms)
  if options then
    table.insert(fields, 'transcript_options')
    table.insert(fields, options)
  end
end
if priority then
  table.insert(fields, 'priority')
  table.insert(fields, priority)
end
rcall('HSET', jobKey, unpack(fields))
rcall('ZADD', clientJobsKey, p.created, p.id)
rcall('SADD', activeKey, p.id)
rcall('XADD', eventsKey, 'MAXLEN', '~', 200, '*', 'type', 'job.queued', 'data', p.event)
return { 'ok', rank, options }
