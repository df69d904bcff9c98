-- POST /api/v1/signals with a new signal_id each time (thread number + counter); the token is the argument.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  token = args[1]
  counter = 0
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"signal_id": "intake-%d-%d", "symbol": "BTCUSDT", "action": "BUY", "entry_price": "100", "confidence": "0.5"}',
    tid, counter)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end

dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "report.lua")
