--[[
  Adding a BullMQ job from inside a transition (Redis cannot call a script from a script).

  The loader puts BullMQ's own add scripts here (addStandardJob, addPrioritizedJob, addDelayedJob of the
  pinned bullmq, each wrapped as a function of (KEYS, ARGV)), with BULLMQ_ADD_KEYS = their key counts.

  readAdd(nextKey, nextArg): the prepared add (see bullmq-add.ts) at ARGV[nextArg]: its script name, its key
  count, three arguments (packed args, data JSON, packed options); its keys are KEYS[nextKey…]. A single ''
  means "no add". Returns the add (or nil) and the key and argument indexes after it.

  bullmq_add(add, priority): runs a prepared add (priority, when given, replaces the job's). BullMQ's negative
  return codes (e.g. -5 missing parent) raise the error 'BULLMQ_ADD <script> <code>' (see bullmq-add.ts).
  Transitions add before they write, so such an error leaves nothing written.
]]
--- @bullmq-adders
local function readAdd(nextKey, nextArg)
  local name = ARGV[nextArg]
  if name == nil or name == '' then return nil, nextKey, nextArg + 1 end
  local n = tonumber(ARGV[nextArg + 1])
  if BULLMQ_ADD_KEYS[name] == nil or BULLMQ_ADD_KEYS[name] ~= n then
    error({ err = 'ERR voicebot: a BullMQ add ' .. tostring(name) .. ' with ' .. tostring(n) ..
      ' keys is not one of the embedded scripts' })
  end
  local keys = {}
  for j = 1, n do keys[j] = KEYS[nextKey + j - 1] end
  return { name, keys, { ARGV[nextArg + 2], ARGV[nextArg + 3], ARGV[nextArg + 4] } }, nextKey + n, nextArg + 5
end

local function bullmq_add(add, priority)
  local argv = { add[3][1], add[3][2], add[3][3] }
  if priority then
    local opts = cmsgpack.unpack(argv[3])
    opts['priority'] = priority
    argv[3] = cmsgpack.pack(opts)
  end
  local result = BULLMQ_ADDERS[add[1]](add[2], argv)
  if type(result) == 'number' and result < 0 then
    error({ err = 'BULLMQ_ADD ' .. add[1] .. ' ' .. result })
  end
  return result
end
