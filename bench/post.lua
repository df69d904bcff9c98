-- A small JSON POST, for the hello-world floor of the intake.
wrk.method = "POST"
wrk.body = '{"signal_id": "floor", "symbol": "BTCUSDT", "action": "BUY", "entry_price": "100", "confidence": "0.5"}'
wrk.headers["Content-Type"] = "application/json"
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "report.lua")
