#!/usr/bin/env python3
"""Write a wrk Lua script posting N distinct, correctly signed mock POS
webhooks (stock.updated, distinct event ids, so each is a new event, not a
redelivery), signed as the mock POS signs them (common/providers/pos/
cs_pos_mock.h): X-Mock-POS-Signature "t=UNIX,v1=HEX", HEX =
HMAC-SHA256(secret, "UNIX." + body). The signatures hold for five minutes.
usage: pos_reqs.py HOST SECRET N OUT.lua"""
import hashlib, hmac, json, sys, time

host, secret, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
t = str(int(time.time()))
lines = ["local reqs = {"]
for i in range(n):
    body = json.dumps({"event_id": "evt_bench_%09d" % i, "type": "stock.updated",
                       "sold_out": [{"id": "item-%03d" % (i % 120), "sold_out": i % 2 == 0}]})
    sig = "t=%s,v1=%s" % (t, hmac.new(secret.encode(), (t + "." + body).encode(),
                                       hashlib.sha256).hexdigest())
    lines.append("{%s,%s}," % (json.dumps(body), json.dumps(sig)))
lines.append("}")
lines.append('''
local counter = 1
function setup(thread) thread:set("id", counter); counter = counter + 1 end
-- Each of the two threads takes its own half, so every event id is new.
function init(args) i = (id - 1) * math.floor(#reqs / 2) end
request = function()
  i = i + 1
  local r = reqs[(i %% #reqs) + 1]
  return wrk.format("POST", "/webhooks/pos", {["Host"] = "%s",
    ["Content-Type"] = "application/json", ["X-Mock-POS-Signature"] = r[2]}, r[1])
end
''' % host)
open(out, "w").write("\n".join(lines))
