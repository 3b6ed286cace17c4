-- wrk script for bench/run.py: walks a pre-generated list of requests, each
-- sent once, so every valid notification credits a distinct payment.
--
--   wrk ... -s walk.lua URL -- LIST_FILE PATH METHOD THREADS
--
-- LIST_FILE has one request per line: a form body for POST, a query string
-- for GET. Thread k of THREADS sends lines k+1, k+1+THREADS, ... When a
-- thread runs out it starts over and counts a wrap: those repeats are
-- duplicates (a different path), and run.py refuses the run.
-- done() prints one line, "RKJSON {...}", that run.py parses.

local threads = {}
local thread_count = 0

function setup(thread)
    thread:set("thread_index", thread_count)
    thread_count = thread_count + 1
    table.insert(threads, thread)
end

function init(args)
    local list_file, path, method, total = args[1], args[2], args[3], tonumber(args[4])
    requests = {}
    wrapped = 0
    next_index = 0
    local line_number = 0
    for line in io.lines(list_file) do
        if line_number % total == thread_index then
            if method == "POST" then
                requests[#requests + 1] = wrk.format("POST", path, {
                    ["Content-Type"] = "application/x-www-form-urlencoded",
                }, line)
            else
                requests[#requests + 1] = wrk.format("GET", path .. "?" .. line)
            end
        end
        line_number = line_number + 1
    end
    if #requests == 0 then
        error("walk.lua: no requests for thread " .. thread_index)
    end
end

function request()
    next_index = next_index + 1
    if next_index > #requests then
        next_index = 1
        wrapped = wrapped + 1
    end
    return requests[next_index]
end

function done(summary, latency, requests_stats)
    local wraps = 0
    for _, thread in ipairs(threads) do
        wraps = wraps + (thread:get("wrapped") or 0)
    end
    local e = summary.errors
    io.write(string.format(
        'RKJSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
        '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
        '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}, ' ..
        '"wrapped": %d}\n',
        summary.requests, summary.duration, summary.bytes,
        e.connect, e.read, e.write, e.status, e.timeout,
        latency:percentile(50), latency:percentile(90), latency:percentile(99),
        latency.max, latency.mean, wraps))
end
