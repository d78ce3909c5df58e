--[[
  sameRun(retries): whether p.run (a stage job's run; absent: no check) is the job's current run, retries + 1 (its
  record's `retries` field). A stage job of a run that was retried since never changes the job.
]]
local function sameRun(retries) return p.run == nil or tonumber(retries or 0) + 1 == p.run end
