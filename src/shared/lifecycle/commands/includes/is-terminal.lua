--[[
  isTerminal(status): whether a job with this status has ended (succeeded, failed or canceled).
]]
local function isTerminal(s) return s == 'succeeded' or s == 'failed' or s == 'canceled' end
