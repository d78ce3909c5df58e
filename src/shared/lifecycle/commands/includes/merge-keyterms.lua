--[[
  mergeKeyterms(defaults, kt): the transcript options of an audio job, or false when it has none. `defaults` is
  the client's default keyterms (its hash's `keyterms`, a JSON array, or false); kt = {template, own, asked,
  max}: they are merged in front of the job's own (deduplicated, at most kt.max) into kt.template, whose
  "__KEYTERMS__" placeholder they replace. Options are written when the job asked for any or keyterms remain.
]]
local function mergeKeyterms(defaults, kt)
  local merged, seen = {}, {}
  local function collect(list)
    for _, t in ipairs(list) do
      if not seen[t] and #merged < kt.max then
        seen[t] = true
        table.insert(merged, t)
      end
    end
  end
  if defaults then collect(cjson.decode(defaults)) end
  collect(kt.own)
  if not kt.asked and #merged == 0 then return false end
  local parts = {}
  for i, t in ipairs(merged) do parts[i] = cjson.encode(t) end
  local list = '[' .. table.concat(parts, ',') .. ']'
  return (string.gsub(kt.template, '"__KEYTERMS__"', function() return list end, 1))
end
