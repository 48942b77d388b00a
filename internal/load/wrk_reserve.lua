-- wrk script of `flashsale-load wrk` (embedded in the binary, written to a
-- temporary file for each measurement): every request is POST /reserve by a
-- user never seen before, as in a sale's opening second. A new user needs no
-- token (the answer brings their shopper_token, which nothing here reads
-- again), so the script sends none; the servers it loads are started with
-- --new-shopper-rate 0, as all its users come from one address.
--
--   wrk -t2 -c64 -d10s --latency -s wrk_reserve.lua URL -- TAG
--
-- User ids are TAG, the thread's number, '-' and a per-thread counter
-- ("m2-4711"): distinct across threads and requests, distinct between the
-- warm-up (TAG w) and the measured run (TAG m), and within the API's
-- pattern. Several wrk processes that load servers sharing one sale get a
-- TAG each ("m1.", "m2."), so that their ids differ too ("m1.2-4711"). At
-- the end done() prints one line, "flashsale-wrk {json}", which the Go side
-- parses.
--
-- Counting statuses in response() makes wrk parse every response's headers
-- and body. Measured on the 2-core machine this was written on (against the
-- baseline, 2 threads, 64 connections, 4 runs of 5 s each way,
-- alternating): 22.3 µs of wrk CPU per request with it, 21.6 without, about
-- 3%, inside the runs' own spread of 20.5-24.1; building each request in
-- request() costs far more. So the counts stay: they tell a 201 from a 202
-- and catch a 3xx, which summary.errors.status (> 399 only) does not.

-- Kept by setup(), which runs in the environment done() later runs in, so
-- that done() can read every thread's counters.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

-- Globals of each thread's own environment: thread:get reads globals only.
created, waitlisted, other = 0, 0, 0

local prefix, n = "", 0
local headers = {["Content-Type"] = "application/json"}

function init(args)
  prefix = (args[1] or "u") .. thread_number .. "-"
end

function request()
  n = n + 1
  return wrk.format("POST", "/reserve", headers, '{"user_id":"' .. prefix .. n .. '"}')
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  elseif status == 202 then
    waitlisted = waitlisted + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local c, w, o = 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created")
    w = w + t:get("waitlisted")
    o = o + t:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    'flashsale-wrk {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p99":%d,"p999":%d,"max":%d},' ..
    '"status_201":%d,"status_202":%d,"status_other":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max,
    c, w, o))
end
