-- put.lua — wrk: PUT of 100-byte values to random keys among KEYS
-- (default 100000) under PREFIX (default /v1/t/bench/p).
--   wrk -s bench/wrk/put.lua URL   (env: PREFIX, KEYS)
local prefix = os.getenv("PREFIX") or "/v1/t/bench/p"
local keys = tonumber(os.getenv("KEYS") or "100000")
local body = string.rep("v", 100)

init = function(args)
	math.randomseed(os.time())
end

request = function()
	return wrk.format("PUT", string.format("%s%06d", prefix, math.random(0, keys - 1)),
		{ ["Content-Type"] = "application/octet-stream" }, body)
end
