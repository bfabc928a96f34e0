-- The wrk script of the redirect benchmark (bench/redirect/main.ts runs wrk with it).
--
-- Settings come from the environment, read at the top level: wrk runs this file in a main Lua
-- state (setup, done) and once more in a state of its own per thread (init, request, delay,
-- response), and decides from the main state's globals whether to call request() and delay(), so
-- they must be defined (or not) before init() could see any script argument.
--   SNIP_WRK_EXPECT    the status every response must have (default 200); others are counted
--   SNIP_WRK_PREFIX    with SNIP_WRK_COUNT: cycle through /<prefix>1 .. /<prefix><count>;
--                      unset: every request asks for the URL's own path (a static request)
--   SNIP_WRK_RATE      total requests/s to pace at, with Poisson arrivals; unset or 0: closed loop
--   SNIP_WRK_THREADS   wrk's -t, so that each thread paces at its share of the rate (default 1)
--   SNIP_WRK_SKIP_MS   paced runs only: latency of requests sent in the first this many ms is not
--                      counted in the steady_* figures (the connections' first moments)
--
-- done() prints one line of JSON on stdout, after wrk's own report. Paced runs also measure
-- latency themselves: each request carries its send time in x-request-id, which the api (and the
-- bare yardstick) echo, so that a response's latency is known in response() and the requests of
-- the first SNIP_WRK_SKIP_MS can be left out, which wrk's own histogram cannot do.

local function setting(name)
  local value = os.getenv(name)
  if value == nil or value == '' then return nil end
  return value
end

local expect = tonumber(setting('SNIP_WRK_EXPECT') or '200')
local prefix = setting('SNIP_WRK_PREFIX')
local count = tonumber(setting('SNIP_WRK_COUNT') or '0')
local rate = tonumber(setting('SNIP_WRK_RATE') or '0')
local threads = tonumber(setting('SNIP_WRK_THREADS') or '1')
local skip_ms = tonumber(setting('SNIP_WRK_SKIP_MS') or '0')
local cycling = prefix ~= nil and count > 0

-- Main state: one entry per thread, read back in done().
local all = {}

function setup(thread)
  all[#all + 1] = thread
  thread:set('id', #all)
end

-- Thread states: what done() collects through thread:get.
unexpected = 0
statuses = {}
-- Paced runs: latencies after the skipped start, in 10 us buckets (sparse), their count and max.
steady = {}
steady_count = 0
steady_max_us = 0
steady_from_us = 0
steady_last_us = 0

local cycle -- the prepared requests (closed loop) or paths (paced), when cycling
local n = 0

local clock_us -- monotonic microseconds, paced runs only
if rate > 0 then
  local ffi = require('ffi')
  ffi.cdef([[
    typedef struct { long tv_sec; long tv_nsec; } snip_wrk_timespec;
    int clock_gettime(int clock_id, snip_wrk_timespec *tp);
  ]])
  local CLOCK_MONOTONIC = 1
  local now = ffi.new('snip_wrk_timespec')
  clock_us = function()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, now)
    return tonumber(now.tv_sec) * 1e6 + math.floor(tonumber(now.tv_nsec) / 1000)
  end
end

function init(_)
  local me = id or 1
  math.randomseed(os.time() * 1000 + me * 7919)
  for _ = 1, 10 do math.random() end
  if cycling then
    cycle = {}
    for k = 1, count do
      cycle[k] = rate > 0 and ('/' .. prefix .. k) or wrk.format(nil, '/' .. prefix .. k)
    end
    n = ((me - 1) * math.floor(count / threads)) % count
  end
  if rate > 0 then steady_from_us = clock_us() + skip_ms * 1000 end
end

if rate > 0 then
  -- Each request is made as it is sent (wrk calls request() after delay()), stamped with its
  -- send time.
  function request()
    local path = wrk.path
    if cycling then
      n = n % count + 1
      path = cycle[n]
    end
    return wrk.format(nil, path, { ['x-request-id'] = string.format('t%.0f', clock_us()) })
  end
elseif cycling then
  function request()
    n = n % count + 1
    return cycle[n]
  end
end

function response(status, headers, _)
  if status ~= expect then
    unexpected = unexpected + 1
    statuses[status] = (statuses[status] or 0) + 1
  end
  if rate > 0 then
    local stamp = headers['x-request-id'] or headers['X-Request-Id']
    local sent = stamp and tonumber(string.sub(stamp, 2))
    if sent == nil then
      -- The server did not echo the stamp: counted as unexpected, so the run fails loudly.
      unexpected = unexpected + 1
      statuses[0] = (statuses[0] or 0) + 1
    elseif sent >= steady_from_us then
      local done_us = clock_us()
      local us = done_us - sent
      local bucket = math.floor(us / 10)
      steady[bucket] = (steady[bucket] or 0) + 1
      steady_count = steady_count + 1
      if us > steady_max_us then steady_max_us = us end
      steady_last_us = done_us
    end
  end
end

if rate > 0 then
  -- A Poisson arrival schedule per thread, shared by the thread's connections: each request a
  -- connection is about to send claims the next arrival time, drawn an exponential gap after the
  -- previous one, and waits for it. With C connections, a connection so waits about C/R seconds
  -- minus its latency between two requests, and the thread sends R/threads requests a second,
  -- spread out rather than in bursts. The schedule is in absolute time, so that wrk's
  -- millisecond timers (and rounding) move single requests but never the rate; and it never
  -- catches up in a burst: when every connection is busy past an arrival time, the schedule
  -- restarts from now (the run then falls short of the rate, which the caller reports).
  local gap = 1000 * threads / rate -- mean ms between two arrivals on one thread
  local at = nil

  function delay()
    local t = clock_us() / 1000
    if at == nil or at < t then at = t end
    at = at - math.log(1 - math.random()) * gap
    return math.floor(at - t)
  end
end

-- The latency (ms) at percentile p of the merged steady histograms, by bucket (10 us).
local function percentile(buckets, total, p)
  if total == 0 then return 0 end
  local keys = {}
  for bucket in pairs(buckets) do keys[#keys + 1] = bucket end
  table.sort(keys)
  local want = math.ceil(total * p / 100)
  local seen = 0
  for _, bucket in ipairs(keys) do
    seen = seen + buckets[bucket]
    if seen >= want then return (bucket + 1) * 10 / 1000 end
  end
  return (keys[#keys] + 1) * 10 / 1000
end

function done(summary, latency, _)
  local bad, by_status = 0, {}
  local merged, total, max_us, from_us, last_us = {}, 0, 0, nil, 0
  for _, thread in ipairs(all) do
    bad = bad + (thread:get('unexpected') or 0)
    for status, k in pairs(thread:get('statuses') or {}) do
      by_status[status] = (by_status[status] or 0) + k
    end
    for bucket, k in pairs(thread:get('steady') or {}) do
      merged[bucket] = (merged[bucket] or 0) + k
    end
    total = total + (thread:get('steady_count') or 0)
    max_us = math.max(max_us, thread:get('steady_max_us') or 0)
    local from = thread:get('steady_from_us') or 0
    if from_us == nil or from < from_us then from_us = from end
    last_us = math.max(last_us, thread:get('steady_last_us') or 0)
  end
  local listed = {}
  for status, k in pairs(by_status) do listed[#listed + 1] = string.format('"%d":%d', status, k) end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  local steady_seconds = (total > 0 and from_us) and (last_us - from_us) / 1e6 or 0
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,'
      .. '"steady_requests":%d,"steady_seconds":%.3f,"steady_p50_ms":%.3f,"steady_p99_ms":%.3f,'
      .. '"steady_max_ms":%.3f,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d},'
      .. '"unexpected":%d,"unexpected_statuses":{%s},"expect":%d,"rate":%.1f}\n',
    summary.requests, summary.duration, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    total, steady_seconds, percentile(merged, total, 50), percentile(merged, total, 99),
    max_us / 1000,
    e.connect, e.read, e.write, e.timeout, e.status,
    bad, table.concat(listed, ','), expect, rate))
end
