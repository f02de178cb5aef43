-- wrk script: POST the body in $MW_BODY to the URL given to wrk, count the
-- answers by status, and print machine-readable lines at the end (read by
-- bench/wrkload.py).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("MW_BODY")

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counts = {}
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("counts")) do
      total[status] = (total[status] or 0) + n
    end
  end
  io.write("MW_STATUS")
  for status, n in pairs(total) do
    io.write(string.format(" %d=%d", status, n))
  end
  io.write("\n")
  io.write(string.format("MW_LATENCY_US p50=%d p90=%d p99=%d max=%d\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
  local e = summary.errors
  io.write(string.format(
    "MW_SUMMARY requests=%d duration_us=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout))
end
