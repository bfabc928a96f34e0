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
--
-- done() prints one line of JSON on stdout, after wrk's own report.

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

-- Main state: one entry per thread, read back in done().
local all = {}

function setup(thread)
  all[#all + 1] = thread
  thread:set('id', #all)
end

-- Thread states: what done() collects through thread:get.
unexpected = 0
statuses = {}

local cycle -- the prepared requests, when cycling
local n = 0

function init(_)
  local me = id or 1
  math.randomseed(os.time() * 1000 + me * 7919)
  for _ = 1, 10 do math.random() end
  if prefix and count > 0 then
    cycle = {}
    for k = 1, count do cycle[k] = wrk.format(nil, '/' .. prefix .. k) end
    n = ((me - 1) * math.floor(count / threads)) % count
  end
end

if prefix and count > 0 then
  function request()
    n = n % count + 1
    return cycle[n]
  end
end

function response(status, _, _)
  if status ~= expect then
    unexpected = unexpected + 1
    statuses[status] = (statuses[status] or 0) + 1
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
  local ffi = require('ffi')
  ffi.cdef([[
    typedef struct { long tv_sec; long tv_nsec; } snip_wrk_timespec;
    int clock_gettime(int clock_id, snip_wrk_timespec *tp);
  ]])
  local CLOCK_MONOTONIC = 1
  local now = ffi.new('snip_wrk_timespec')
  local function ms()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, now)
    return tonumber(now.tv_sec) * 1000 + tonumber(now.tv_nsec) / 1e6
  end
  local gap = 1000 * threads / rate -- mean ms between two arrivals on one thread
  local at = nil

  function delay()
    local t = ms()
    if at == nil or at < t then at = t end
    at = at - math.log(1 - math.random()) * gap
    return math.floor(at - t)
  end
end

function done(summary, latency, _)
  local bad, by_status = 0, {}
  for _, thread in ipairs(all) do
    bad = bad + (thread:get('unexpected') or 0)
    for status, k in pairs(thread:get('statuses') or {}) do
      by_status[status] = (by_status[status] or 0) + k
    end
  end
  local listed = {}
  for status, k in pairs(by_status) do listed[#listed + 1] = string.format('"%d":%d', status, k) end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d},'
      .. '"unexpected":%d,"unexpected_statuses":{%s},"expect":%d,"rate":%.1f}\n',
    summary.requests, summary.duration, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.timeout, e.status,
    bad, table.concat(listed, ','), expect, rate))
end
