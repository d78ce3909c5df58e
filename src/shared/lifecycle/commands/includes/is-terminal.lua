--[[
  isTerminal(status): whether a job with this status has ended. TERMINAL_STATUSES (status → true) is written
  here by commands.ts from the one list of statuses (src/shared/job-states.ts).
]]
--- @terminal-statuses
local function isTerminal(s) return TERMINAL_STATUSES[s] == true end
