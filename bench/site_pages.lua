-- wrk script for the bench: GET the site pages listed in $BENCH_PATHS in turn, then print
-- one line "BENCH-WRK p50_us p95_us max_us requests errors duration_us" for bench/run.py.
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do
  if #line > 0 then paths[#paths + 1] = line end
end
local i = math.random(#paths)

request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH-WRK %d %d %d %d %d %d\n", latency:percentile(50),
    latency:percentile(95), latency.max, summary.requests,
    e.connect + e.read + e.write + e.status + e.timeout, summary.duration))
end
