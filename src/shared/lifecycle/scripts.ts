/**
 * The job lifecycle's Lua scripts: every state change of a job is one of these, run as one EVALSHA. Each
 * guards the status, writes the record, appends (and publishes) the job's event, keeps the client's in-flight
 * set and the retention index right, sets TTLs, and adds the next BullMQ job — all or nothing.
 *
 * Calling convention: KEYS[1] = the job's hash (routes the call on a Cluster; every other key shares its hash
 * tag), ARGV[1] = JSON parameters, ARGV[2..] = prepared BullMQ adds (see bullmq-add.ts), each as
 * name, #keys, keys…, three arguments — or a single '' for "none".
 *
 * Events: every event is appended to the job's stream (replay, Last-Event-ID). It is also PUBLISHed on the
 * job's channel, but only while some process listens to that job: listeners count themselves in the record's
 * `watchers` field (see WATCH), which each transition reads with its guard anyway — so a job nobody follows
 * costs no PUBLISH at all. A job's end is published once more on `<prefix>:ended`, for monitors.
 */
import { BULLMQ_ADD_LUA } from './bullmq-add.ts';

const HELPERS = `
local rcall = redis.call
local p = cjson.decode(ARGV[1])
local P = p.prefix
local jobKey = KEYS[1]
local function streamKey(id) return P .. ':job:' .. id .. ':events' end
local function isTerminal(s) return s == 'succeeded' or s == 'failed' or s == 'canceled' end
-- Appends an event to the job's stream and, when someone listens (watchers > 0), publishes it.
local function emit(id, ev, watchers)
  local sid = rcall('XADD', streamKey(id), 'MAXLEN', '~', 200, '*', 'type', ev[1], 'data', ev[2])
  local message = sid .. '\\n' .. ev[1] .. '\\n' .. ev[2]
  if tonumber(watchers or 0) > 0 then rcall('PUBLISH', P .. ':jobev:' .. id, message) end
  return message
end
-- Reads the prepared add at ARGV[i]; returns it (or nil for '') and the index after it.
local function readAdd(i)
  local name = ARGV[i]
  if name == nil or name == '' then return nil, i + 1 end
  local n = tonumber(ARGV[i + 1])
  local keys = {}
  for j = 1, n do keys[j] = ARGV[i + 1 + j] end
  return { name, keys, { ARGV[i + 2 + n], ARGV[i + 3 + n], ARGV[i + 4 + n] } }, i + 5 + n
end
${BULLMQ_ADD_LUA}
`;

/**
 * accept: admission (in-flight cap, idempotency) → record, client indexes, job.queued, first stage enqueued.
 * With p.keyterms, the client's default keyterms (its hash's `keyterms`, a JSON array) are merged in front of the
 * job's own (deduplicated, at most p.keyterms.max) into the `transcript_options` template, whose
 * "__KEYTERMS__" placeholder they replace. With p.batch (the first job of a batch, see Lifecycle.acceptBatch),
 * an admitted job also records its batch: the hash and the list of its job ids, with the record's TTL.
 * Returns {'ok', rank, transcript_options or false} | {'full', active} | {'replay', stored idempotency value}.
 */
export const ACCEPT = `${HELPERS}
local activeKey = P .. ':client:' .. p.client .. ':active'
if p.idem then
  local prev = rcall('GET', p.idem[1])
  if prev then return { 'replay', prev } end
end
local active = rcall('SCARD', activeKey)
if active + 1 > p.cap then return { 'full', active } end
if p.idem then rcall('SET', p.idem[1], p.idem[2], 'EX', p.idem[3]) end
local rank = active + 1
local priority = nil
local fields = p.fields
local options = false
if p.keyterms then
  local k = p.keyterms
  local merged, seen = {}, {}
  local function add(list)
    for _, t in ipairs(list) do
      if not seen[t] and #merged < k.max then
        seen[t] = true
        table.insert(merged, t)
      end
    end
  end
  local raw = rcall('HGET', P .. ':client:' .. p.client, 'keyterms')
  if raw then add(cjson.decode(raw)) end
  add(k.own)
  if k.asked or #merged > 0 then
    local parts = {}
    for i, t in ipairs(merged) do parts[i] = cjson.encode(t) end
    local list = '[' .. table.concat(parts, ',') .. ']'
    options = string.gsub(k.template, '"__KEYTERMS__"', function() return list end, 1)
    table.insert(fields, 'transcript_options')
    table.insert(fields, options)
  end
end
if p.fair then
  priority = math.min(rank, 2097151)
  table.insert(fields, 'priority')
  table.insert(fields, priority)
end
rcall('HSET', jobKey, unpack(fields))
rcall('EXPIRE', jobKey, p.ttl)
rcall('ZADD', P .. ':client:' .. p.client .. ':jobs', p.created, p.id)
rcall('SADD', activeKey, p.id)
rcall('XADD', streamKey(p.id), 'MAXLEN', '~', 200, '*', 'type', 'job.queued', 'data', p.event)
rcall('EXPIRE', streamKey(p.id), p.ttl)
if p.batch then
  local batchKey = P .. ':batch:' .. p.batch.id
  rcall('HSET', batchKey, unpack(p.batch.fields))
  local ids = p.batch.jobs
  for i = 1, #ids, 1000 do
    rcall('RPUSH', batchKey .. ':jobs', unpack(ids, i, math.min(i + 999, #ids)))
  end
  rcall('EXPIRE', batchKey, p.ttl)
  rcall('EXPIRE', batchKey .. ':jobs', p.ttl)
end
local add = readAdd(2)
bullmq_add(add, priority)
return { 'ok', rank, options }
`;

/**
 * start: a stage begins. Guard: the job exists, has not ended, and is at this stage (a stage job retried after
 * its hand-off finds the job moved on). Returns {'ok', hash…} (the record before the change) | {'skip', why}.
 */
export const START = `${HELPERS}
local h = rcall('HGETALL', jobKey)
if #h == 0 then return { 'skip', 'missing' } end
local status, stage, watchers
for i = 1, #h, 2 do
  local f = h[i]
  if f == 'status' then status = h[i + 1] elseif f == 'stage' then stage = h[i + 1]
  elseif f == 'watchers' then watchers = h[i + 1] end
end
if isTerminal(status) then return { 'skip', status } end
if stage ~= p.stage then return { 'skip', 'stage ' .. tostring(stage) } end
rcall('HSET', jobKey, 'status', 'running', 'updated_at', p.now)
emit(p.id, p.event, watchers)
return { 'ok', h }
`;

/**
 * handoff: a stage's output is recorded and the next stage enqueued (same guard as start).
 * Returns 'ok' | 'skip'.
 */
export const HANDOFF = `${HELPERS}
local status, stage, watchers = unpack(rcall('HMGET', jobKey, 'status', 'stage', 'watchers'))
if not status or isTerminal(status) or stage ~= p.stage then return 'skip' end
rcall('HSET', jobKey, unpack(p.fields))
emit(p.id, p.event, watchers)
bullmq_add((readAdd(2)))
return 'ok'
`;

/**
 * finish: the job ends (succeeded, failed or canceled) — once. The record gets its terminal fields and the
 * retention TTL, leaves the client's in-flight set, enters the retention index; the terminal event is
 * published (after the last stage's stage.completed, when given); a cancel is announced to the workers; the
 * job's webhook (ARGV add 1, when the job has a webhook_url) and its batch's (ARGV add 2, when this job
 * completes the batch and the batch has a webhook_url) are enqueued. p.stage, when set, guards like start.
 * Returns 'ok' | 'skip'.
 */
export const FINISH = `${HELPERS}
local status, client, batch, webhookUrl, stage, watchers = unpack(rcall('HMGET', jobKey, 'status',
  'client_id', 'batch_id', 'webhook_url', 'stage', 'watchers'))
if not status or isTerminal(status) then return 'skip' end
if p.stage and stage ~= p.stage then return 'skip' end
local fields = p.fields
if webhookUrl then
  table.insert(fields, 'webhook')
  table.insert(fields, p.webhook)
end
rcall('HSET', jobKey, unpack(fields))
rcall('EXPIRE', jobKey, p.retention)
rcall('ZADD', P .. ':jobs:finished', p.now_ms, p.id)
if client then rcall('SREM', P .. ':client:' .. client .. ':active', p.id) end
if p.completed then emit(p.id, p.completed, watchers) end
rcall('PUBLISH', P .. ':ended', p.id .. '\\n' .. emit(p.id, p.event, watchers))
rcall('EXPIRE', streamKey(p.id), p.retention)
if p.status == 'canceled' then rcall('PUBLISH', P .. ':cancel', p.id) end
local jobAdd, i = readAdd(2)
local batchAdd = readAdd(i)
if webhookUrl and jobAdd then bullmq_add(jobAdd) end
if batch then
  local bkey = P .. ':batch:' .. batch
  if rcall('EXISTS', bkey) == 1 then
    local ended = rcall('HINCRBY', bkey, 'ended', 1)
    if ended == tonumber(rcall('HGET', bkey, 'total')) then
      rcall('HSET', bkey, 'completed_at', p.now)
      if batchAdd and rcall('HEXISTS', bkey, 'webhook_url') == 1 then bullmq_add(batchAdd) end
    end
  end
end
return 'ok'
`;

/**
 * patch: writes fields of a job that has not ended (p.any: whatever its status) and publishes p.event when
 * given (e.g. stage.retrying). Returns 'ok' | 'skip'.
 */
export const PATCH = `${HELPERS}
local status, watchers = unpack(rcall('HMGET', jobKey, 'status', 'watchers'))
if not status or (not p.any and isTerminal(status)) then return 'skip' end
if #p.fields > 0 then rcall('HSET', jobKey, unpack(p.fields)) end
if #p.remove > 0 then rcall('HDEL', jobKey, unpack(p.remove)) end
if p.event then emit(p.id, p.event, watchers) end
return 'ok'
`;

/**
 * webhook: records one delivery attempt (or, with no attempt, a redelivery going out) on the hash KEYS[1] (a job
 * or a batch), keeping the last p.max attempts; a redelivery also enqueues its deliver job. Returns 'ok'.
 */
export const WEBHOOK = `${HELPERS}
local current = rcall('HGET', jobKey, 'webhook')
local attempts = {}
if current then attempts = cjson.decode(current).attempts or {} end
if p.attempt then
  table.insert(attempts, cjson.decode(p.attempt))
  while #attempts > p.max do table.remove(attempts, 1) end
end
local encoded = '[]'
if #attempts > 0 then encoded = cjson.encode(attempts) end
rcall('HSET', jobKey, 'webhook', '{"event_id":' .. cjson.encode(p.event_id) .. ',"event_type":' ..
  cjson.encode(p.event_type) .. ',"status":' .. cjson.encode(p.status) .. ',"attempts":' .. encoded .. '}')
local add = readAdd(2)
if add then bullmq_add(add) end
return 'ok'
`;

/**
 * watch: a process starts (p.delta = 1) or stops (-1) listening to a job's events; while the count is above
 * zero, transitions publish them. Returns the count (0 for a job that does not exist).
 */
export const WATCH = `${HELPERS}
if rcall('EXISTS', jobKey) == 0 then return 0 end
local n = rcall('HINCRBY', jobKey, 'watchers', p.delta)
if n < 0 then rcall('HSET', jobKey, 'watchers', 0) end
return n
`;
