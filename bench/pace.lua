-- Pacing for a wrk script: bench/run.sh puts this before a request script
-- (cat bench/pace.lua bench/intake.lua > paced.lua), and
-- `wrk ... -s paced.lua URL -- RATE` then sends RATE requests a second per
-- wrk thread: an open load, the way visitors come, whatever the latency.
-- Without it each connection asks again as soon as it is answered (a
-- closed load: the most the server takes). It is a separate file because
-- wrk runs a script's delay() for every request once one is defined.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } pace_timespec;
int clock_gettime(int clk, pace_timespec *ts);
]]
local pace_ts = ffi.new("pace_timespec")
local function pace_now_ms()
    ffi.C.clock_gettime(1, pace_ts)   -- CLOCK_MONOTONIC
    return tonumber(pace_ts.tv_sec) * 1000 + tonumber(pace_ts.tv_nsec) / 1e6
end

local pace_gap, pace_due = 1, nil
function init(args)
    pace_gap = 1000 / tonumber(args[1] or "1000")
end

-- One request every pace_gap ms across the thread's connections (each
-- waits its turn); after a stall of more than 100 ms the schedule starts
-- again rather than bursting to catch up, so an overloaded server is
-- offered less than RATE: the bench prints the rate achieved.
function delay()
    local t = pace_now_ms()
    if not pace_due or pace_due < t - 100 then
        pace_due = t
    end
    pace_due = pace_due + pace_gap
    return math.max(0, math.floor(pace_due - t))
end
