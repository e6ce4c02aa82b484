-- wrk script: the coffee-shop contact form, posted as a browser does, by a
-- different visitor each time (a new email and phone), so no two posts
-- wait on one contact's row lock; bench/intake.sql does the same.
-- BENCH_INTAKE_HOST posts to another vhost; BENCH_INTAKE_SPAM=1 posts as a
-- spam bot does (every field filled, the hidden honeypot too), for the
-- flood run (bench/flood.sh).
wrk.method = "POST"
wrk.headers["Host"] = os.getenv("BENCH_INTAKE_HOST") or "bench.localhost"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local spam = os.getenv("BENCH_INTAKE_SPAM") == "1"

local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
end

local n = 0
function request()
    n = n + 1
    local who = tid * 1000000 + n
    if spam then
        return wrk.format(nil, nil, nil,
            "name=Best+SEO&email=seo" .. who .. "%40spam.example" ..
            "&website=http%3A%2F%2Fcheap-seo.example&message=Rank+first+on+Google+today%21")
    end
    return wrk.format(nil, nil, nil,
        "name=Ana+Lima&email=ana" .. who .. "%40example.com&phone=%2B1503" .. (2000000 + who % 8000000) ..
        "&message=Hi%2C+do+you+cater+office+breakfasts+for+30+people+next+Tuesday%3F")
end
