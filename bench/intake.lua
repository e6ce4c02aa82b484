-- wrk script: the coffee-shop contact form, posted as a browser does.
wrk.method = "POST"
wrk.headers["Host"] = "bench.localhost"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "name=Ana+Lima&email=ana%40example.com&phone=503-555-0142&message=" ..
           "Hi%2C+do+you+cater+office+breakfasts+for+30+people+next+Tuesday%3F"
