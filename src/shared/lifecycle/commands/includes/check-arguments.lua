--[[
  checkArguments(script, nextKey, nextArg): stops a call whose KEYS or ARGV count is not the one the script read
  (nextKey / nextArg: the index after the last key / argument it read), before anything is written.
]]
local function checkArguments(script, nextKey, nextArg)
  if nextKey ~= #KEYS + 1 or nextArg ~= #ARGV + 1 then
    error({ err = 'ERR voicebot ' .. script .. ': called with ' .. #KEYS .. ' keys and ' .. #ARGV ..
      ' arguments, read ' .. (nextKey - 1) .. ' and ' .. (nextArg - 1) })
  end
end
