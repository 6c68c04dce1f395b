-- get.lua — wrk: GET of random keys among KEYS (default 1000), under the
-- path PREFIX (default /v1/t/bench/k): the same requests against golite
-- and against nginx serving the values as files.
--   wrk -s bench/wrk/get.lua URL   (env: PREFIX, KEYS)
local prefix = os.getenv("PREFIX") or "/v1/t/bench/k"
local keys = tonumber(os.getenv("KEYS") or "1000")

init = function(args)
	math.randomseed(os.time())
end

request = function()
	return wrk.format("GET", string.format("%s%06d", prefix, math.random(0, keys - 1)))
end
