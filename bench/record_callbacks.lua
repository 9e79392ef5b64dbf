-- wrk script: each thread cycles through its share of pre-signed record callbacks.
-- Lines of the requests file: path <TAB> signature header <TAB> JSON body.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  requests = {}
  local file = io.open(args[1], "r")
  local n = 0
  for line in file:lines() do
    if n % tonumber(args[2]) == id then
      local path, signature, body = line:match("^([^\t]+)\t([^\t]+)\t(.*)$")
      table.insert(requests, wrk.format("POST", path,
        {["Content-Type"] = "application/json", ["FreeClimb-Signature"] = signature}, body))
    end
    n = n + 1
  end
  file:close()
  index = 0
end

function request()
  index = index % #requests + 1
  return requests[index]
end
