-- wrk script: the coffee-shop contact form, posted as a browser does, by a
-- different visitor each time (a new email and phone), so no two posts
-- wait on one contact's row lock; bench/intake.sql does the same.
wrk.method = "POST"
wrk.headers["Host"] = "bench.localhost"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
end

local n = 0
function request()
    n = n + 1
    local who = tid * 1000000 + n
    return wrk.format(nil, nil, nil,
        "name=Ana+Lima&email=ana" .. who .. "%40example.com&phone=%2B1503" .. (2000000 + who % 8000000) ..
        "&message=Hi%2C+do+you+cater+office+breakfasts+for+30+people+next+Tuesday%3F")
end
